'use strict';
// TLS options as Node's tls module names them (ca, cert, key, passphrase, servername,
// ALPNProtocols, rejectUnauthorized, requestCert), normalized for the addon: PEM text as
// strings. `true` means a client with the defaults: the system's CAs, verification on.
function tlsSpec(tls) {
  if (tls === undefined || tls === null || tls === false) return undefined;
  if (tls === true) return {};
  if (typeof tls !== 'object') throw new TypeError('tls must be true or an options object');
  const pem = (v, name) => {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
    if (Array.isArray(v)) return v.map((x) => pem(x, name)).join('\n');
    throw new TypeError(`tls.${name} must be a string or a Buffer`);
  };
  const spec = {
    ca: pem(tls.ca, 'ca'),
    cert: pem(tls.cert, 'cert'),
    key: pem(tls.key, 'key'),
    passphrase: tls.passphrase,
    servername: tls.servername,
    rejectUnauthorized: tls.rejectUnauthorized,
    requestCert: tls.requestCert,
    handshakeTimeout: tls.handshakeTimeout,
  };
  if (tls.ALPNProtocols !== undefined) {
    if (!Array.isArray(tls.ALPNProtocols)) throw new TypeError('tls.ALPNProtocols must be an array');
    spec.ALPNProtocols = tls.ALPNProtocols.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('latin1')));
  }
  return spec;
}

module.exports = { tlsSpec };
