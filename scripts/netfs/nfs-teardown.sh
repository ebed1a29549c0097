#!/usr/bin/env bash
# Undo nfs-setup.sh: unmount every path it mounted, stop the nfs-fuse clients, the delay proxy,
# ganesha and the rpcbind it started (by recorded pid only: an rpcbind that was already running is
# left alone), and delete the backend's state and export.
#   nfs-teardown.sh                    # everything nfs-setup.sh recorded
#   NETFS_KEEP_STATE=1 nfs-teardown.sh # keep $NETFS_STATE/nfs (logs, export contents)
# Idempotent; safe to call when nothing is set up. Exit 0 unless something could not be unmounted.
set -uo pipefail
S="${NETFS_STATE:-/run/netfs}/nfs"
log() { echo "netfs[nfs]: $*" >&2; }
[ -d "$S" ] || {
  log "nothing to tear down ($S absent)"
  exit 0
}
rc=0

# mountinfo, not stat: a hung FUSE daemon would block any stat of the mountpoint.
mounted_dev() { awk -v m="$1" '$5 == m { print $3 }' /proc/self/mountinfo | tail -1; }

# unmount MOUNTPOINT: umount, else abort the FUSE connection, else a lazy unmount.
unmount() {
  local mp="$1" dev
  dev="$(mounted_dev "$mp")"
  [ -n "$dev" ] || return 0
  if ! timeout 10 fusermount3 -u "$mp" 2>/dev/null && ! timeout 10 umount "$mp" 2>/dev/null; then
    log "unmounting $mp failed or hung; aborting FUSE connection ${dev#*:}"
    [ -d /sys/fs/fuse/connections/"${dev#*:}" ] || mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null
    echo 1 >/sys/fs/fuse/connections/"${dev#*:}"/abort 2>/dev/null
    timeout 10 umount "$mp" 2>/dev/null || timeout 10 umount -l "$mp" 2>/dev/null || {
      log "could not unmount $mp"
      rc=1
      return
    }
  fi
  log "unmounted $mp"
}

# stop PIDFILE NAME: SIGTERM, then SIGKILL after 10 s.
stop() {
  [ -s "$1" ] || return 0
  local pid
  pid="$(cat "$1")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null
      log "killed $2 ($pid) with SIGKILL"
    else
      log "stopped $2 ($pid)"
    fi
  fi
  rm -f "$1"
}

if [ -f "$S/mounts" ]; then
  while read -r mp; do [ -n "$mp" ] && unmount "$mp"; done <"$S/mounts"
fi
for pidfile in "$S"/client-*.pid; do [ -f "$pidfile" ] && stop "$pidfile" nfs-fuse; done
# What the clients logged (their retransmissions, mostly) goes into the caller's log, before $S goes.
for clientlog in "$S"/client-*.log; do
  [ -s "$clientlog" ] && log "$(basename "$clientlog"): $(wc -l <"$clientlog") lines, the last ones:" && tail -5 "$clientlog" >&2
done
stop "$S/proxy.pid" delay-proxy
stop "$S/ganesha.pid" ganesha
stop "$S/rpcbind.pid" rpcbind

if [ "${NETFS_KEEP_STATE:-0}" != 1 ] && [ "$rc" = 0 ]; then rm -rf "$S"; fi
exit $rc
