#!/usr/bin/env bash
# Mount a REAL NFSv3 export (nfs-ganesha on 127.0.0.1) at one or more paths, through nfs-fuse.
#
#   nfs-setup.sh MOUNTPOINT [MOUNTPOINT...]   -> prints each mounted path on stdout, one per line
#
# The same calling convention as ../shared/netfs/setup.sh, for the backend that script does not
# cover: the kernel here has no NFS client and Debian ships no FUSE one, so the client is the
# project's own scripts/netfs/nfs-fuse.c (libnfs + FUSE 3), compiled here into the state directory.
# The server is nfs-ganesha (VFS FSAL) with its own config, log, pid file and export folder, and
# `Graceless = true` so that it serves at once. ganesha registers NFSv3 only while rpcbind runs, so
# rpcbind -w is started if none runs (and then stopped by nfs-teardown.sh; one already running is
# left alone). Every MOUNTPOINT is an independent client (own process, own TCP connections, own
# kernel caches) of the SAME export: two mountpoints behave like two hosts sharing one NFS drive.
#
# Environment (all optional):
#   NETFS_STATE       state dir; this backend uses $NETFS_STATE/nfs       (default /run/netfs)
#   NETFS_NFS_PORT    the server's NFS port                               (default 2049)
#   NETFS_MNT_PORT    the server's MOUNT port                             (default 20048)
#   NETFS_DELAY_MS    one-way delay per direction through delay-proxy.js (the client is told the
#   NETFS_JITTER_MS   proxy's ports for NFS and MOUNT, so every RPC crosses it; no portmapper call)
#   NETFS_SHARED      where delay-proxy.js is                             (default ../../../shared/netfs)
#   NETFS_CLIENT_OPTS extra nfs-fuse options (e.g. "-o attr_timeout=0")
# Undo with nfs-teardown.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_ROOT="${NETFS_STATE:-/run/netfs}"
S="$STATE_ROOT/nfs"
EXPORT="$S/export"
NFS_PORT="${NETFS_NFS_PORT:-2049}"
MNT_PORT="${NETFS_MNT_PORT:-20048}"
DELAY="${NETFS_DELAY_MS:-0}"
JITTER="${NETFS_JITTER_MS:-0}"
SHARED="${NETFS_SHARED:-$HERE/../../../shared/netfs}"
# The compiled client lives beside the backend's state, so that teardown (which deletes $S) keeps it.
CLIENT="$STATE_ROOT/nfs-client/nfs-fuse"

log() { echo "netfs[nfs]: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
[ "$(id -u)" = 0 ] || die "must run as root"
[ $# -ge 1 ] || die "usage: $0 MOUNTPOINT [MOUNTPOINT...]"
[ -c /dev/fuse ] || die "/dev/fuse missing: no FUSE, no user-space NFS client"

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local i
  for i in $(seq 1 200); do
    port_open "$1" && return 0
    sleep 0.1
  done
  return 1
}
is_mounted() { awk -v m="$1" '$5 == m { f=1 } END { exit !f }' /proc/self/mountinfo; } # no stat: safe on a hung FUSE

# install_missing: the Debian packages of the server, the client library, FUSE and the compiler.
install_missing() {
  local pkgs=(nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-dev libfuse3-dev gcc pkg-config fuse3) missing=() p
  for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} = 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; } ||
    die "could not install ${missing[*]}"
}

# build_client: compiles nfs-fuse.c unless the binary is newer than the source.
build_client() {
  [ -x "$CLIENT" ] && [ "$CLIENT" -nt "$HERE/nfs-fuse.c" ] && return 0
  mkdir -p "$(dirname "$CLIENT")"
  # shellcheck disable=SC2046
  gcc -O2 -Wall -Werror -o "$CLIENT.tmp" "$HERE/nfs-fuse.c" $(pkg-config --cflags --libs libnfs fuse3) ||
    die "could not compile nfs-fuse.c"
  mv "$CLIENT.tmp" "$CLIENT"
  log "compiled $CLIENT"
}

# start_rpcbind: ganesha exits without a portmapper ("Cannot register NFS V3 on UDP").
start_rpcbind() {
  pgrep -x rpcbind >/dev/null && return 0
  mkdir -p /run/rpcbind
  setsid rpcbind -f -w </dev/null >>"$S/rpcbind.log" 2>&1 &
  echo $! >"$S/rpcbind.pid"
  wait_port 111 || die "rpcbind did not listen on 111; see $S/rpcbind.log"
  log "rpcbind pid $(cat "$S/rpcbind.pid")"
}

write_ganesha_config() {
  cat >"$S/ganesha.conf" <<EOF
NFS_CORE_PARAM {
  Protocols = 3, 4;
  Bind_addr = 127.0.0.1;
  NFS_Port = $NFS_PORT;
  MNT_Port = $MNT_PORT;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Drop_IO_Errors = false;
  Drop_Inval_Errors = false;
  Drop_Delay_Errors = false;
}
NFSV4 {
  Graceless = true;
  RecoveryRoot = $S/recovery;
}
EXPORT {
  Export_Id = 1;
  Path = $EXPORT;
  Pseudo = /export;
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  Protocols = 3;
  Transports = TCP;
  FSAL { Name = VFS; }
}
EOF
}

start_ganesha() {
  alive "$S/ganesha.pid" && return 0
  port_open "$NFS_PORT" && die "port $NFS_PORT already in use by something else"
  mkdir -p "$S/recovery"
  write_ganesha_config
  setsid ganesha.nfsd -F -f "$S/ganesha.conf" -L "$S/ganesha.log" -p "$S/ganesha.run.pid" </dev/null >>"$S/ganesha.out" 2>&1 &
  echo $! >"$S/ganesha.pid"
  wait_port "$NFS_PORT" && wait_port "$MNT_PORT" || die "ganesha did not listen on $NFS_PORT/$MNT_PORT; see $S/ganesha.log"
  log "ganesha pid $(cat "$S/ganesha.pid") exporting $EXPORT on 127.0.0.1:$NFS_PORT (mount $MNT_PORT)"
}

# start_proxy: with a delay, both the NFS and the MOUNT connection go through delay-proxy.js.
PROXY_NFS_PORT=$((NFS_PORT + 4000))
PROXY_MNT_PORT=$((MNT_PORT + 4000))
start_proxy() {
  [ "$DELAY" != 0 ] || [ "$JITTER" != 0 ] || return 0
  [ -f "$SHARED/delay-proxy.js" ] || die "no $SHARED/delay-proxy.js for NETFS_DELAY_MS"
  alive "$S/proxy.pid" && return 0
  DELAY_MS="$DELAY" JITTER_MS="$JITTER" setsid node "$SHARED/delay-proxy.js" \
    "$PROXY_NFS_PORT:$NFS_PORT,$PROXY_MNT_PORT:$MNT_PORT" >>"$S/proxy.log" 2>&1 </dev/null &
  echo $! >"$S/proxy.pid"
  wait_port "$PROXY_NFS_PORT" && wait_port "$PROXY_MNT_PORT" || die "delay-proxy did not listen; see $S/proxy.log"
  log "delay-proxy pid $(cat "$S/proxy.pid") delay=${DELAY}ms jitter=${JITTER}ms"
}

# client_url: the export's URL, through the proxy's ports when there is one.
client_url() {
  if alive "$S/proxy.pid"; then
    echo "nfs://127.0.0.1$EXPORT?version=3&nfsport=$PROXY_NFS_PORT&mountport=$PROXY_MNT_PORT"
  else
    echo "nfs://127.0.0.1$EXPORT?version=3&nfsport=$NFS_PORT&mountport=$MNT_PORT"
  fi
}

# mount_client MOUNTPOINT: one nfs-fuse process in the foreground of its own session.
mount_client() {
  local mp="$1" n i
  n="$(echo "$mp" | md5sum | cut -c1-12)"
  # shellcheck disable=SC2086
  setsid "$CLIENT" "$(client_url)" "$mp" -f -o allow_other,fsname=nfs-fuse,subtype=nfs ${NETFS_CLIENT_OPTS:-} \
    </dev/null >>"$S/client-$n.log" 2>&1 &
  echo $! >"$S/client-$n.pid"
  for i in $(seq 1 100); do
    is_mounted "$mp" && return 0
    alive "$S/client-$n.pid" || break
    sleep 0.1
  done
  cat "$S/client-$n.log" >&2
  die "nfs-fuse did not mount $mp"
}

install_missing
mkdir -p "$S" "$EXPORT"
chmod 0777 "$EXPORT"
build_client
start_rpcbind
start_ganesha
start_proxy
echo "NETFS_BACKEND=nfs" >"$S/env"
echo "NETFS_EXPORT=$EXPORT" >>"$S/env"

for mp in "$@"; do
  mkdir -p "$mp"
  mp="$(cd "$mp" && pwd -P)"
  if is_mounted "$mp"; then
    if grep -qxF "$mp" "$S/mounts" 2>/dev/null && timeout 10 stat "$mp" >/dev/null 2>&1; then
      log "$mp already mounted"
      echo "$mp"
      continue
    fi
    die "$mp is already a mountpoint not made by this script (or hung); run nfs-teardown.sh first"
  fi
  t0=$(date +%s%N)
  echo "$mp" >>"$S/mounts"
  mount_client "$mp"
  timeout 10 stat "$mp" >/dev/null || die "mount at $mp not responding"
  log "mounted $mp in $((($(date +%s%N) - t0) / 1000000)) ms"
  echo "$mp"
done
