#!/usr/bin/env bash
# Installs the built tree into a temporary prefix, then builds and runs a consumer program
# with CMake's find_package(weft) (shared and static) and with pkg-config.
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
libdir=$(dirname "$(find "$work/prefix" -name 'libweft.so*' | head -n 1)")
LD_LIBRARY_PATH="$libdir" "$work/consumer/consumer_shared"
"$work/consumer/consumer_static"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -o "$work/consumer_pc" "$source_dir/consumer.c" \
  $(pkg-config --define-variable=prefix="$work/prefix" --cflags --libs weft)
LD_LIBRARY_PATH="$libdir" "$work/consumer_pc"
