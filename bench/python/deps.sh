#!/usr/bin/env bash
# Installs what bench/python/run.py needs beyond the build (ci/deps.sh): wrk, the HTTP load
# generator (Debian), and the Python peers and applications of bench/python/requirements.txt
# (PyPI). Safe to run again; installs nothing that is already there. The tests need none of it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v wrk >/dev/null; then
  echo "bench/python/deps.sh: installing wrk"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq wrk >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
