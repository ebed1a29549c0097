#!/usr/bin/env bash
# bench/setup.sh — installs what the benchmark needs beyond npm: Debian's python3-diskcache, the
# python-diskcache competitor (bench/competitors/python-diskcache.ts). Idempotent: does nothing when
# the package is installed; runs `apt-get update` only when it must install. No pip.
#
#   sudo bash bench/setup.sh      (or as root)
#
# The package goes into Debian's own Python (/usr/bin/python3), which is the interpreter the
# competitor starts (override with DISKCACHE_BENCH_PYTHON); a python3 earlier on PATH (pyenv, a
# virtualenv) would not see it.
set -euo pipefail

PACKAGE=python3-diskcache
PYTHON=${DISKCACHE_BENCH_PYTHON:-/usr/bin/python3}

installed() {
  dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q 'install ok installed'
}

if installed; then
  echo "$PACKAGE is installed"
else
  if ! command -v apt-get >/dev/null; then
    echo "bench/setup.sh: apt-get not found; install python-diskcache for $PYTHON another way" >&2
    exit 1
  fi
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  # `apt-get update` once, so that a fresh image (empty package lists) can install.
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "$PACKAGE"
fi

"$PYTHON" -c 'import diskcache, sys; print(f"python-diskcache {diskcache.__version__} for {sys.executable} {sys.version.split()[0]}")'
