'use strict';
// The Node side of the behaviour cases' trace format (README.md in this directory), the
// same token rules as casetrace.py and casetrace.c. A case.js:
//
//   const { weft, emit, run } = require('../casetrace.js');
//   async function main() { emit('start'); ... }
//   run(main);
//
// `weft` is the binding of this source tree (bindings/node); it finds its addon through
// WEFT_NODE_ADDON, which the ctest entry sets to the addon the build just made.
const path = require('node:path');

const weft = require(path.join(__dirname, '..', '..', 'bindings', 'node'));

// A token q() made: the only kind that may hold spaces, inside its quotes.
class Quoted {
  constructor(text) {
    this.text = text;
  }
}

/** A string or bytes as one quoted token, with C escapes; null/undefined is `none`. */
function q(value) {
  if (value === null || value === undefined) return 'none';
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  let out = '"';
  for (const b of bytes) {
    if (b === 0x5c) out += '\\\\';
    else if (b === 0x22) out += '\\"';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\x' + b.toString(16).padStart(2, '0');
  }
  return new Quoted(out + '"');
}

/** The name of an error in the core's table (error.h without WEFT_): the binding's
 * errors carry it as `code`; an error that is not weft's has no name there. A TaskGroup's
 * error lists its errors: EGROUP[EIO,EPERM]. */
function err(e) {
  if (e instanceof weft.TaskGroupError) return `EGROUP[${e.errors.map(err).join(',')}]`;
  if (e instanceof weft.WeftError && typeof e.code === 'string' && e.code in weft.codes) {
    return e.code;
  }
  return 'EUNKNOWN';
}

function token(v) {
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (v === null || v === undefined) return 'none';
  if (v instanceof Quoted) return v.text;
  if (v instanceof Error) return err(v);
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return q(v).text;
  const s = String(v);
  if (s === '' || /\s/.test(s)) throw new Error(`trace token ${JSON.stringify(s)} is empty or has a space: use q()`);
  return s;
}

const lines = [];

/** Records one event: the tokens joined by single spaces. Errors become their name,
 * bytes a quoted token, booleans true/false, null and undefined none. */
function emit(...tokens) {
  lines.push(tokens.map(token).join(' '));
}

/** Runs main() as a weft task, as asyncio.run runs the main coroutine in one, then prints
 * the trace; a failure of main is reported on stderr with exit status 1. */
function run(main) {
  let finished = false;
  const flush = () => {
    finished = true;
    process.stdout.write(lines.map((l) => l + '\n').join(''));
  };
  // Node exits when nothing keeps its loop alive, even with main still waiting.
  process.on('exit', () => {
    if (!finished) {
      flush();
      console.error('main never finished: it waits on something nothing will settle');
      process.exitCode = 1;
    }
  });
  weft.spawn(main, { name: 'main' }).then(
    () => flush(),
    (e) => {
      flush();
      console.error('main failed:', e);
      process.exitCode = 1;
    },
  );
}

/** Throwaway certificates made with the openssl command, as casetrace.py's make_certs: a
 * CA; `server` (localhost, 127.0.0.1) and `wrong_host` (wrong.example) signed by it; and
 * `other_ca`, which signed nothing. Returns name -> { cert, key } as PEM Buffers. */
function makeCerts(directory) {
  const { execFileSync } = require('node:child_process');
  const fs = require('node:fs');
  const sh = (...cmd) => execFileSync(cmd[0], cmd.slice(1), { cwd: directory, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other_ca']) {
    sh('openssl', 'req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2',
       '-subj', `/CN=weft behaviour ${ca}`, '-addext', 'basicConstraints=critical,CA:TRUE',
       '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }
  const leaves = { server: ['localhost', 'DNS:localhost,IP:127.0.0.1'],
                   wrong_host: ['wrong.example', 'DNS:wrong.example'] };
  for (const [name, [cn, san]] of Object.entries(leaves)) {
    sh('openssl', 'req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    fs.writeFileSync(path.join(directory, `${name}.ext`),
                     `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n` +
                     'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' +
                     'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n');
    sh('openssl', 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
       '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  }
  const out = {};
  for (const n of ['ca', 'other_ca', 'server', 'wrong_host']) {
    out[n] = { cert: fs.readFileSync(path.join(directory, `${n}.crt`)),
               key: fs.readFileSync(path.join(directory, `${n}.key`)) };
  }
  return out;
}

module.exports = { weft, emit, err, q, run, makeCerts };
