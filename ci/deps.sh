#!/usr/bin/env bash
# Installs what building and testing weft needs, when it is missing: Debian packages, then
# Python packages from PyPI. Safe to run again; installs nothing that is already there.
set -euo pipefail

# clang and libclang-rt-14-dev: the libFuzzer targets (ci/fuzz.sh).
debian_packages=(cmake gcc pkg-config libuv1-dev libssl-dev valgrind clang-format swig clang
                 libclang-rt-14-dev openssl)
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

# Python: the binding's build and test tools (bindings/python/requirements-dev.txt lists them),
# for python3 and for each supported version found (python3.Y that runs, or pyenv's newest
# 3.Y.*), each with its own pip; the CMake build then finds them (bindings/python/CMakeLists.txt).
requirements=bindings/python/requirements-dev.txt
pip_install() {
  # Checking first keeps a second run quick and off the network.
  if ! "$1" -c "import cffi, pytest, setuptools, aiohttp, websockets" 2>/dev/null; then
    echo "ci/deps.sh: installing $requirements for $("$1" --version 2>&1)"
    "$1" -m pip install -q --disable-pip-version-check -r "$requirements"
  fi
}
if [ -f "$requirements" ]; then
  command -v python3 >/dev/null && pip_install python3
  pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
  for version in 3.11 3.12 3.13; do
    python=""
    if python$version -c "" 2>/dev/null; then
      python=$(command -v python$version)
    else
      python=$(ls -d "$pyenv_root"/versions/$version.*/bin/python$version 2>/dev/null | sort -V | tail -1)
    fi
    [ -n "$python" ] && pip_install "$python"
  done
fi

# Node: the binding's check and benchmark tools (tsc, the peers of bench/node), from npm into
# bindings/node/dev (package.json pins their major versions).
if command -v npm >/dev/null && [ -f bindings/node/dev/package.json ] &&
   [ ! -x bindings/node/dev/node_modules/.bin/tsc ]; then
  echo "ci/deps.sh: installing bindings/node/dev's tools from npm"
  (cd bindings/node/dev && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
