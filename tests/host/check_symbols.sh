#!/usr/bin/env bash
# check_symbols.sh MODULE HOST: MODULE, built from libweft_host.a, must take libuv and
# OpenSSL from the HOST executable that loads it, and carry no copy of its own:
#   1. it defines no libuv or OpenSSL function (no second copy);
#   2. its DT_NEEDED names no libuv, libssl or libcrypto;
#   3. every libuv or OpenSSL symbol it leaves undefined is exported by HOST, and every
#      other undefined symbol by HOST or a library it needs.
# Exits 1 with the offending symbols, 0 when all three hold.
set -euo pipefail
export LC_ALL=C
module=$1
host=$2

# libuv and OpenSSL's public prefixes (libssl and libcrypto).
pattern='^(uv|SSL|SSL_CTX|SSL_SESSION|TLS|DTLS|EVP|ERR|X509|X509V3|X509v3|PEM|BIO|ASN1|OBJ|CRYPTO|OPENSSL|OSSL|BN|RAND|EC|ECDSA|RSA|DH|DSA|HMAC|PKCS5|PKCS7|PKCS8|PKCS12|GENERAL_NAME|GENERAL_NAMES|ENGINE|CONF|OCSP|d2i|i2d|i2a|a2i|sk|lh|ossl)_'
names() { awk 'NF >= 2 { sub(/@.*/, "", $NF); print $NF }' | sort -u; }

status=0
problem() {
  echo "$module: $1" >&2
  status=1
}

# 1. A second copy: a libuv or OpenSSL function defined in it, even as a local symbol (a
#    hidden copy linked in statically), that the host exports too; or any such name in its
#    dynamic exports. Names the host does not export (ERR_GET_LIB and the other static
#    inline functions of OpenSSL's headers, emitted in unoptimized builds) are no copy.
host_defined=$(nm -D --defined-only "$host" | names)
defined=$({ nm --defined-only "$module" 2>/dev/null || true; } | names | grep -E "$pattern" || true)
exported=$(nm -D --defined-only "$module" | names | grep -E "$pattern" || true)
copies=$(sort -u <(comm -12 <(echo "$defined") <(echo "$host_defined")) <(echo "$exported") |
  grep . || true)
[ -z "$copies" ] || problem "check 1: defines libuv/OpenSSL symbols (a second copy): $(echo $copies | head -c 600)"

# 2. Libraries it asks the loader for.
needed=$(readelf -d "$module" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $NF); print $NF }')
bad_needed=$(echo "$needed" | grep -E '^lib(uv|ssl|crypto)\.' || true)
[ -z "$bad_needed" ] || problem "check 2: needs $(echo $bad_needed)"

# 3. Undefined symbols and who supplies them.
undefined=$(nm -D --undefined-only "$module" | awk '$1 == "U"' | names)
libs_defined=$(ldd "$module" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
  while read -r lib; do nm -D --defined-only "$lib"; done | names)
ours=$(echo "$undefined" | grep -E "$pattern" || true)
missing=$(comm -23 <(echo "$ours") <(echo "$host_defined"))
[ -z "$missing" ] || problem "check 3: needs libuv/OpenSSL symbols $host does not export: $(echo $missing)"
others=$(comm -23 <(echo "$undefined") <(echo "$ours"))
unresolved=$(comm -23 <(echo "$others") <(sort -u <(echo "$host_defined") <(echo "$libs_defined")))
[ -z "$unresolved" ] || problem "check 3: undefined symbols nothing supplies: $(echo $unresolved)"

echo "$module: $(echo "$ours" | grep -c '^uv_') uv_* and $(echo "$ours" | grep -vc '^uv_') OpenSSL symbols left to $host; needs $(echo $needed)"
exit $status
