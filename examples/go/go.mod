module weft.dev/examples

go 1.24

require weft.dev/weft v0.0.0

replace weft.dev/weft => ../../bindings/go
