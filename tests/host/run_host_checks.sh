#!/usr/bin/env bash
# run_host_checks.sh symbols|load HOST_OR_EMPTY ARGS...: the ctest entries of the host build.
# Exits 77 (ctest's skip) when there is no host program to check against.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
what=$1
host=${2:-}
shift 2
[ -n "$host" ] && [ -x "$host" ] || host=$(command -v node || true)
if [ -z "$host" ]; then
  echo "SKIP: no node on this machine: the host build cannot be checked against one"
  exit 77
fi
case $what in
symbols) # ARGS: pass:MODULE (must pass) or fail:DIGITS:MODULE (must fail those checks)
  for arg in "$@"; do
    module=${arg##*:}
    if [ "${arg%%:*}" = pass ]; then
      bash "$here/check_symbols.sh" "$module" "$host"
      continue
    fi
    checks=${arg#fail:}
    checks=${checks%%:*}
    if out=$(bash "$here/check_symbols.sh" "$module" "$host" 2>&1); then
      echo "check_symbols.sh passed $module, which it must reject (checks $checks)" >&2
      exit 1
    fi
    for ((i = 0; i < ${#checks}; i++)); do
      if ! grep -q "check ${checks:i:1}:" <<<"$out"; then
        echo "check ${checks:i:1} did not reject $module:" >&2
        echo "$out" >&2
        exit 1
      fi
    done
    echo "$module: rejected by checks $checks, as it should be"
  done
  ;;
load) # ARGS: the addon
  exec "$host" "$here/host_load.js" "$1"
  ;;
esac
