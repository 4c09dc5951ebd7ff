#!/usr/bin/env bash
# Runs one of the Go binding's checks for ctest (bindings/go/CMakeLists.txt registers each):
#   run_tests.sh GO BUILD_DIR vet|test|generated
#   run_tests.sh GO BUILD_DIR install TOP_BUILD_DIR
#   run_tests.sh GO BUILD_DIR examples (vet and run examples/go, as ci/demo.sh does)
#   run_tests.sh GO BUILD_DIR case     (go run case.go in the current directory: a
#                                       behaviour case, tests/behaviour/CMakeLists.txt)
# Everything Go writes (build cache, module cache) stays under BUILD_DIR; the module has no
# dependencies, so nothing is downloaded.
set -euo pipefail

go_bin=$1
build_dir=$2
mode=$3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

export PKG_CONFIG_PATH="$build_dir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export GOCACHE="$build_dir/gocache" GOPATH="$build_dir/gopath" GOFLAGS=-mod=mod GOTOOLCHAIN=local
# go build reruns SWIG only when the .swig file, the flags or the environment change: not
# when swig/*.i or a header it includes does. A digest of them in CGO_CFLAGS makes any such
# change rebuild the raw layer.
iface=$(cat "$repo"/swig/*.i "$repo"/core/include/weft.h "$repo"/core/include/weft/*.h | sha256sum | cut -c1-16)
export CGO_CFLAGS="-O2 -g -DWEFT_INTERFACE_DIGEST=$iface"

case_dir=$PWD
cd "$here"
case $mode in
vet)
  "$go_bin" vet . ./internal/errgen
  # Two of vet's checks cannot read SWIG's output: cgocall looks for the generated file in
  # a build directory already gone (golang/go#36129), and unsafeptr flags SWIG's own string
  # runtime (swigCopyString). Every other check runs on it.
  "$go_bin" vet -cgocall=false -unsafeptr=false ./internal/raw
  ;;
test)
  "$go_bin" test -race -count=1 ./...
  ;;
generated)
  # errors_table.go must be what go generate makes from today's error.h.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$go_bin" run ./internal/errgen "$repo/core/include/weft/error.h" "$tmp/errors_table.go"
  diff -u errors_table.go "$tmp/errors_table.go"
  ;;
examples)
  cd "$repo/examples/go"
  "$go_bin" vet ./...
  for example in echo pipeline; do
    "$go_bin" run "./$example"
  done
  ;;
case)
  cd "$case_dir"
  exec "$go_bin" run case.go
  ;;
install)
  # As a user outside the repository: weft installed into a prefix, the module as `go get`
  # fetches it (its own directory only, so swig/ is not next to it), a program of its own
  # module using it through a replace directive, found with PKG_CONFIG_PATH alone.
  top_build=$4
  tmp=$(mktemp -d)
  trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
  cmake --install "$top_build" --prefix "$tmp/prefix" >/dev/null
  mkdir -p "$tmp/module" "$tmp/app"
  tar -C "$here" --exclude=./testdata -cf - . | tar -C "$tmp/module" -xf -
  cp "$here/testdata/outside/main.go" "$tmp/app/main.go"
  printf 'module example.com/outside\n\ngo 1.24\n\nrequire weft.dev/weft v0.0.0\n\nreplace weft.dev/weft => ../module\n' >"$tmp/app/go.mod"
  pc=$(dirname "$(find "$tmp/prefix" -name weft.pc | head -n 1)")
  export PKG_CONFIG_PATH=$pc GOPROXY=off GOFLAGS=-mod=mod
  libdir=$(pkg-config --variable=libdir weft)
  cd "$tmp/app"
  CGO_LDFLAGS="-Wl,-rpath,$libdir" "$go_bin" build -o outside .
  out=$(./outside)
  echo "$out"
  [ "$out" = "weft outside the tree: from outside" ]
  ;;
*)
  echo "run_tests.sh: unknown mode $mode" >&2
  exit 2
  ;;
esac
