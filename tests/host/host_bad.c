/* A module check_symbols.sh must reject: it carries a libuv function of its own (a stand-in
 * for a statically linked libuv) and calls one that node does not export. host.symbols
 * runs the check on it so that a check which sees nothing cannot pass. */

__attribute__((visibility("default"))) unsigned weft_host_bad(void);
unsigned uv_version(void);
unsigned uv_weft_not_in_node(void);

unsigned uv_version(void) {
  return 0;
}

unsigned weft_host_bad(void) {
  return uv_version() + uv_weft_not_in_node();
}
