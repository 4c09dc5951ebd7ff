#!/usr/bin/env bash
# Installs the built tree into a temporary prefix and moves the whole prefix elsewhere, then
# builds and runs a consumer program against the moved tree with CMake's find_package(weft)
# (shared and static) and with pkg-config: an installed weft must not depend on where it
# was installed.
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/staged" >/dev/null
mkdir "$work/moved"
mv "$work/staged" "$work/moved/prefix"
prefix="$work/moved/prefix"

# No installed text file may still name the prefix it was installed into.
if grep -rlI -- "$work/staged" "$prefix"; then
  echo "the files above still name the install prefix $work/staged" >&2
  exit 1
fi

cmake -S "$source_dir" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libweft.so*' | head -n 1)")
LD_LIBRARY_PATH="$libdir" "$work/consumer/consumer_shared"
"$work/consumer/consumer_static"

# weft.pc gives the moved prefix's directories, found from its own place (${pcfiledir}).
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pc_prefix=$(pkg-config --variable=prefix weft)
if [ "$(cd "$pc_prefix" && pwd -P)" != "$(cd "$prefix" && pwd -P)" ]; then
  echo "pkg-config gives prefix $pc_prefix for weft installed in $prefix" >&2
  exit 1
fi
for flag in $(pkg-config --cflags-only-I --libs-only-L weft); do
  dir=${flag#-[IL]}
  case "$(cd "$dir" && pwd -P)" in
  "$(cd "$prefix" && pwd -P)"/*) ;;
  *)
    echo "pkg-config gives $flag, outside $prefix" >&2
    exit 1
    ;;
  esac
done
cc -o "$work/consumer_pc" "$source_dir/consumer.c" $(pkg-config --cflags --libs weft)
LD_LIBRARY_PATH="$libdir" "$work/consumer_pc"
