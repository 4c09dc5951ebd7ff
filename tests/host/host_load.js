// Loads host_addon.node into node: the module must find node's own libuv and OpenSSL, run a
// weft loop on node's loop and close it again. node then exits only once weft's handles on
// its loop are closed, so a handle left open shows as a test timeout.
'use strict';
const assert = require('node:assert');

const addon = require(process.argv[2]);
const v = addon.versions();
console.log(`weft ${v.weft}: libuv ${v.uv} (uv.h ${v.uvHeader}), OpenSSL ${v.openssl} ` +
            `(headers ${v.opensslHeader}); node reports libuv ${process.versions.uv}, ` +
            `OpenSSL ${process.versions.openssl}`);
assert.strictEqual(v.uv, process.versions.uv, 'uv_version_string() is not node\'s libuv');
assert.strictEqual(v.uvHeader, process.versions.uv, 'uv.h is not node\'s libuv');
const nodeOpenssl = process.versions.openssl.replace(/[^0-9.].*$/, '');
assert.strictEqual(v.openssl, nodeOpenssl, 'OpenSSL_version_num() is not node\'s OpenSSL');
assert.strictEqual(v.opensslHeader, nodeOpenssl, 'the openssl headers are not node\'s');

addon.start();
let polls = 0;
(function poll() {
  const s = addon.state();
  if (s.later === 1) {
    assert.strictEqual(s.soon, 1);
    assert.strictEqual(addon.close(), 0);
    console.log(`weft loop ran on node's loop and closed (${polls} polls)`);
    return;
  }
  // A bound on the polls, not a deadline: ctest's timeout ends a real hang first.
  assert.ok(++polls < 100000, 'the weft timer never ran on node\'s loop');
  setTimeout(poll, 1);
})();
