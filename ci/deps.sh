#!/usr/bin/env bash
# Installs what building and testing weft needs, when it is missing: Debian packages, then
# Python packages from PyPI. Safe to run again; installs nothing that is already there.
set -euo pipefail

# clang and libclang-rt-14-dev: the libFuzzer targets (ci/fuzz.sh).
debian_packages=(cmake gcc pkg-config libuv1-dev libssl-dev valgrind clang-format swig clang
                 libclang-rt-14-dev)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci/deps.sh: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python: the binding's build and test tools (bindings/python/requirements-dev.txt lists them).
if command -v python3 >/dev/null && [ -f bindings/python/requirements-dev.txt ]; then
  python3 -m pip install -q --disable-pip-version-check -r bindings/python/requirements-dev.txt
fi
