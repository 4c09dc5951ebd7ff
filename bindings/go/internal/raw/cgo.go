// Package raw is weft's C API as SWIG generates it from swig/weft.i and swig/go.i, plus the
// trampolines C calls back into (callbacks.go). Only package weft uses it.
package raw

// The headers and library come from pkg-config weft: an installed weft, or a build tree's
// weft-uninstalled.pc (bindings/go/CMakeLists.txt writes one) on PKG_CONFIG_PATH. The
// SWIG interface files are in the repository's swig/ directory; go build passes this -I
// on to swig.

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../swig
#cgo pkg-config: weft
*/
import "C"
