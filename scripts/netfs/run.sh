#!/usr/bin/env bash
# npm run test:netfs — the cache on REAL network filesystems (issue 8).
#
# For each backend (SMB: smbd + smbnetfs and SFTP: sshd + sshfs, through ../shared/netfs/setup.sh;
# NFS: nfs-ganesha + the project's own libnfs client nfs-fuse.c, through scripts/netfs/nfs-setup.sh):
# starts the server on 127.0.0.1 only, mounts two clients of one export (two "hosts"), and runs
#   probe     scripts/netfs/probe.mjs: minimal reproductions of what the mount does to plain files
#   contract  test/contract.test.ts with its directories on mount A
#   suites    test/netfs/: processes split across both mounts (incr, add, pop, pull), the SIGKILL
#             crash loop, stale attributes, a reader on A while a writer on B replaces values;
#             TieredCache hosts over both mounts, and over a server of its own that it kills
# The backends run these one after another (each has its own server, port and mounts), and then,
# one backend at a time so that the numbers are not disturbed:
#   bench     scripts/netfs/bench.ts: cache set/get/delete vs raw write+rename/read/unlink, 0 ms
#   delay     the same through delay-proxy.js with NETFS_DELAY_MS (default 2) one-way latency
#   (each also runs bench/tiers.ts network: TieredCache hits in the shared tier, two-host hit ratios)
# Everything is torn down on exit, whatever happened (trap). Where it cannot run (not root, no
# /dev/fuse) it prints a SKIP line and exits 0; a backend or step that cannot run (smb and sshfs
# without the shared/netfs scripts, the nfs delay step without its delay-proxy.js) gets a SKIP line.
#
# Environment (all optional):
#   NETFS_BACKENDS    backends                           (default "smb sshfs nfs")
#   NETFS_STEPS       steps                              (default "probe contract suites bench delay")
#   NETFS_BUDGET_S    overall budget in seconds          (default 3000); each step also has a timeout
#   NETFS_SHARED      the shared netfs scripts           (default <repo>/../shared/netfs, else beside
#                     the repository this one was cloned from)
#   NETFS_OUT         logs and JSON results              (default a new /tmp/diskcache-netfs.XXXXXX)
#   NETFS_BENCH_N     iterations per benchmark phase     (default 300; a quarter of that with latency)
#   NETFS_DELAY_MS    latency of the delay step          (default 2)
#   NETFS_CLIENT_OPTS extra FUSE client options for setup.sh (e.g. "-o attr_timeout=0")
#   NETFS_NFS_PORT, NETFS_MNT_PORT  the NFS server's ports (see scripts/netfs/nfs-setup.sh)
#   the suite's knobs NETFS_INCR_OPS, NETFS_ADD_KEYS, NETFS_POP_ITEMS, NETFS_CRASH_KILLS,
#   NETFS_STALE_MS, NETFS_STALE_TAIL_MS, NETFS_SETTLE_MS (see test/netfs/two-mounts.test.ts).
# Exit status: 0 when every step passed (or on SKIP), 1 otherwise.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The shared scripts live beside the checkout; a clone made elsewhere (as CI makes) finds them beside
# the checkout it was cloned from.
SHARED="${NETFS_SHARED:-$ROOT/../shared/netfs}"
if [ -z "${NETFS_SHARED:-}" ] && [ ! -f "$SHARED/setup.sh" ]; then
  ORIGIN="$(git -C "$ROOT" config --get remote.origin.url 2>/dev/null || true)"
  [ -n "$ORIGIN" ] && [ -f "$ORIGIN/../shared/netfs/setup.sh" ] && SHARED="$(cd "$ORIGIN/../shared/netfs" && pwd)"
fi
BACKENDS="${NETFS_BACKENDS:-smb sshfs nfs}"
STEPS=" ${NETFS_STEPS:-probe contract suites bench delay} "
BUDGET="${NETFS_BUDGET_S:-3000}"
DELAY="${NETFS_DELAY_MS:-2}"
BENCH_N="${NETFS_BENCH_N:-300}"
START=$(date +%s)

skip() {
  echo "test:netfs SKIP: $* — the network-filesystem suites did NOT run"
  exit 0
}
[ "$(id -u)" = 0 ] || skip "not root (mounting FUSE clients and starting smbd/sshd needs root)"
[ -c /dev/fuse ] || skip "/dev/fuse is missing (no FUSE, so no user-space network filesystem client)"
command -v timeout >/dev/null || skip "coreutils timeout is missing"
for b in $BACKENDS; do
  case "$b" in smb | sshfs | nfs) ;; *)
    echo "test:netfs: unknown backend $b (smb | sshfs | nfs)"
    exit 1
    ;;
  esac
done
# smb and sshfs are set up by the shared scripts; without them those two are skipped, nfs still runs.
if [ ! -f "$SHARED/setup.sh" ] || [ ! -f "$SHARED/teardown.sh" ]; then
  KEPT=""
  for b in $BACKENDS; do
    case "$b" in
    nfs) KEPT="$KEPT $b" ;;
    *) echo "test:netfs SKIP: backend $b — no $SHARED/setup.sh (shared/netfs is expected beside the repository)" ;;
    esac
  done
  BACKENDS="${KEPT# }"
  [ -n "$BACKENDS" ] || skip "no $SHARED/setup.sh (shared/netfs is expected beside the repository)"
fi

OUT="${NETFS_OUT:-$(mktemp -d /tmp/diskcache-netfs.XXXXXX)}"
mkdir -p "$OUT"
# A private state directory: teardown.sh then touches only what this run set up.
export NETFS_STATE="$OUT/state"
JOBS=()

log() { echo "test:netfs: $*" >&2; }
left() { echo $((BUDGET - ($(date +%s) - START))); }
cap() { # cap SECONDS: SECONDS, or what is left of the budget if less (at least 1)
  local l
  l=$(left)
  if [ "$l" -lt "$1" ]; then [ "$l" -gt 0 ] && echo "$l" || echo 1; else echo "$1"; fi
}
result() { echo "$2" >>"$OUT/$1.results"; } # result BACKEND LINE
netfs_script() {                              # netfs_script BACKEND setup|teardown: its script
  if [ "$1" = nfs ]; then echo "$ROOT/scripts/netfs/nfs-$2.sh"; else echo "$SHARED/$2.sh"; fi
}
teardown() { # teardown BACKEND
  NETFS_BACKEND="$1" timeout 90 bash "$(netfs_script "$1" teardown)" >>"$OUT/$1-teardown.log" 2>&1 ||
    log "teardown of $1 reported a problem; see $OUT/$1-teardown.log"
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${JOBS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null; done
  for b in $BACKENDS; do teardown "$b"; done
  exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# step BACKEND NAME SECONDS COMMAND…: one step with a timeout, its output in $OUT/NAME.log.
step() {
  local b="$1" name="$2" limit t0 rc took summary
  limit=$(cap "$3")
  shift 3
  if [ "$(left)" -le 0 ]; then
    result "$b" "$name: NOT RUN (the ${BUDGET} s budget is spent) FAIL"
    return 1
  fi
  log "$name (timeout ${limit} s) …"
  t0=$(date +%s)
  (cd "$ROOT" && timeout -k 10 "$limit" "$@") >"$OUT/$name.log" 2>&1
  rc=$?
  took=$(($(date +%s) - t0))
  summary="$(grep -E '^ *(Tests|Test Files) ' "$OUT/$name.log" | tr -s ' ' | tr '\n' ';')"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    summary="timed out after ${limit} s, by then $(grep -cE '^ *✓' "$OUT/$name.log") passed and $(grep -cE '^ *×' "$OUT/$name.log") failed;"
  fi
  if [ "$rc" = 0 ]; then
    result "$b" "$name: PASS in ${took} s ${summary}"
  else
    result "$b" "$name: FAIL (exit $rc) in ${took} s ${summary} see $OUT/$name.log"
  fi
  return "$rc"
}

# mount BACKEND [VAR=value…]: sets A and B to two fresh mounts of one fresh export.
mount_pair() {
  local b="$1"
  shift
  A="$OUT/mnt/$b-a"
  B="$OUT/mnt/$b-b"
  teardown "$b"
  mkdir -p "$A" "$B"
  if ! env NETFS_BACKEND="$b" NETFS_SHARED="$SHARED" "$@" timeout "$(cap 300)" bash "$(netfs_script "$b" setup)" "$A" "$B" \
    >"$OUT/$b-setup.out" 2>>"$OUT/$b-setup.log"; then
    result "$b" "$b setup $*: FAIL, see $OUT/$b-setup.log"
    teardown "$b"
    return 1
  fi
  # Test directories go under tests/, so that a failed run cannot litter the export's root.
  mkdir -p "$A/tests"
  log "$b: mounted $A and $B (one export, two clients) $*"
}

suites_for() { # the correctness steps of one backend
  local b="$1"
  mount_pair "$b" || return
  case "$STEPS" in *" probe "*) step "$b" "$b-probe" 180 node scripts/netfs/probe.mjs "$A" "$B" "$b" ;; esac
  case "$STEPS" in *" contract "*)
    step "$b" "$b-contract" 360 env DISKCACHE_TEST_ROOT="$A/tests" \
      npx vitest run test/contract.test.ts --reporter=verbose
    ;;
  esac
  case "$STEPS" in *" suites "*)
    mkdir -p "$OUT/$b-report"
    step "$b" "$b-suites" 480 env DISKCACHE_TEST_ROOT="$A/tests" DISKCACHE_TEST_OTHER_ROOT="$B/tests" \
      DISKCACHE_NETFS_REPORT="$OUT/$b-report" DISKCACHE_NETFS_BACKEND="$b" DISKCACHE_NETFS_SHARED="$SHARED" \
      npx vitest run test/netfs --reporter=verbose
    ;;
  esac
  teardown "$b"
}

bench_for() { # the measurements of one backend, alone on the machine
  local b="$1"
  case "$STEPS" in *" bench "*)
    if mount_pair "$b"; then
      step "$b" "$b-bench-0ms" 180 node --import tsx scripts/netfs/bench.ts "$A/tests" "$BENCH_N" "$b 0ms" "$B/tests"
      step "$b" "$b-bench-tiers-0ms" 300 node --import tsx bench/tiers.ts network "$A/tests" "$B/tests" "$b 0ms" "$BENCH_N"
    fi
    ;;
  esac
  case "$STEPS" in *" delay "*)
    if [ ! -f "$SHARED/delay-proxy.js" ]; then
      result "$b" "$b-bench-${DELAY}ms: SKIP (no $SHARED/delay-proxy.js, so no added latency) — did NOT run"
    elif mount_pair "$b" NETFS_DELAY_MS="$DELAY"; then
      step "$b" "$b-bench-${DELAY}ms" 240 node --import tsx scripts/netfs/bench.ts "$A/tests" "$((BENCH_N / 4))" \
        "$b ${DELAY}ms" "$B/tests"
      step "$b" "$b-bench-tiers-${DELAY}ms" 400 env TIERS_WORKLOAD_OPS=500 node --import tsx bench/tiers.ts network \
        "$A/tests" "$B/tests" "$b ${DELAY}ms" "$((BENCH_N / 4))"
    fi
    ;;
  esac
  teardown "$b"
}

# Install what the backends need first, one at a time (apt takes a lock).
for b in $BACKENDS; do
  mount_pair "$b" && teardown "$b"
done
export ROOT SHARED STEPS BUDGET START OUT
export -f log left cap result netfs_script teardown step mount_pair suites_for
# One backend at a time: with three side by side on 2 cores, the sshfs contract's "loses no
# increment among concurrent calls" lost increments. That is an open defect of the cache under such
# load on sshfs, not of the test; the backend alone passes it.
for b in $BACKENDS; do
  setsid bash -c "suites_for $b" &
  JOBS=($!)
  wait
done
JOBS=()
for b in $BACKENDS; do bench_for "$b"; done

echo
echo "test:netfs results ($(($(date +%s) - START)) s; logs in $OUT):"
cat "$OUT"/*.results 2>/dev/null | sed 's/^/  /'
for f in "$OUT"/*-bench-*.log; do
  [ -f "$f" ] && grep -h '^{' "$f" | sed 's/^/  bench /'
done
for f in "$OUT"/*-report/*.json; do
  [ -f "$f" ] && echo "  $(basename "$(dirname "$f")") $(basename "$f" .json): $(tr -d ' \n' <"$f")"
done
for f in "$OUT"/*-probe.log; do
  [ -f "$f" ] && grep -h '^probe summary' "$f" | sed 's/^/  /'
done
if [ -z "$(cat "$OUT"/*.results 2>/dev/null)" ] || grep -q 'FAIL' "$OUT"/*.results; then
  echo "test:netfs: FAIL"
  exit 1
fi
echo "test:netfs: PASS"
