#!/usr/bin/env bash
# Installs (apt-get) or checks the Debian packages that the tests, the fuzz targets
# and the benchmarks call besides Go. The Makefile names the packages; this script
# only acts on them.
#
#   debdeps.sh install|check PACKAGE=PROBE...
#
# PROBE tells whether PACKAGE is there: a program on PATH (redis-server), a file by its
# absolute path (/usr/bin/python3, /usr/include/stdio.h), or py:MODULE, a module that Debian's /usr/bin/python3 imports
# (the tests run that interpreter, not whatever python3 comes first on PATH).
# `install` installs only the packages whose probe fails, then checks them all;
# `check` fails naming each missing package, so a missing install step shows up as
# "missing: python3-onnx" before any test runs instead of a traceback deep in one.
set -euo pipefail
mode=${1:?usage: debdeps.sh install|check PACKAGE=PROBE...}
shift

present() {
  case $1 in
    py:*) [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import ${1#py:}" 2>/dev/null ;;
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

missing=()
for dep in "$@"; do
  present "${dep#*=}" || missing+=("${dep%%=*}")
done

case $mode in
  check)
    if [ ${#missing[@]} -gt 0 ]; then
      for dep in "$@"; do
        present "${dep#*=}" || echo "missing: ${dep%%=*} (${dep#*=} not found)" >&2
      done
      echo "debdeps: install them with: apt-get install ${missing[*]}" >&2
      exit 1
    fi
    ;;
  install)
    if [ ${#missing[@]} -gt 0 ]; then
      sudo=()
      if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "debdeps: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
      fi
      echo "debdeps: installing ${missing[*]} (apt-get)..." >&2
      "${sudo[@]}" apt-get update -qq
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    "$0" check "$@"
    ;;
  *)
    echo "usage: debdeps.sh install|check PACKAGE=PROBE..." >&2
    exit 2
    ;;
esac
