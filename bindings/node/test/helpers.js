'use strict';
// Shared by the tests: runs a script in a fresh node process with the same addon.
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const weftPath = path.join(__dirname, '..', 'index.js');

// Runs `source` (with `weft` already required) and returns { status, signal, stdout, stderr }.
// There is no time limit here: a process that never exits is caught by ctest's timeout.
function runScript(source) {
  const prelude = `const weft = require(${JSON.stringify(weftPath)});\n`;
  return spawnSync(process.execPath, ['-e', prelude + source], { encoding: 'utf8' });
}

// Starts `count` Workers at once, each running `body` with `weft` and `parentPort` in scope;
// once every one has called ready() (with its work still open), terminates them all, and
// checks that each stops and that node then exits cleanly: status 0, nothing on stderr.
// With `pauses`, that is done once per entry, waiting that many ms before terminating.
function terminateWorkers(body, { count = 2, pauses = [undefined] } = {}) {
  const source = `
    const { parentPort } = require('node:worker_threads');
    const weft = require(${JSON.stringify(weftPath)});
    const ready = () => parentPort.postMessage('ready');
    ${body}`;
  const r = runScript(`
    const { Worker } = require('node:worker_threads');
    const fail = (...what) => { console.log(...what); process.exitCode = 1; };
    (async () => {
      for (const pause of ${JSON.stringify(pauses)}) {
        const workers = [];
        for (let k = 0; k < ${count}; k++) {
          const w = new Worker(${JSON.stringify(source)}, { eval: true });
          w.on('error', (e) => fail('error', e));
          w.exited = new Promise((resolve) => w.once('exit', resolve));
          workers.push(w);
        }
        await Promise.all(workers.map((w) => new Promise((resolve) => {
          let isReady = false;
          w.on('message', (m) => {
            if (m !== 'ready' || isReady) return fail('unexpected', m);
            isReady = true;
            resolve();
          });
          w.exited.then(() => { if (!isReady) fail('exited before ready()'); resolve(); });
        })));
        if (pause !== null) await new Promise((resolve) => setTimeout(resolve, pause));
        await Promise.all(workers.map((w) => w.terminate()));
        await Promise.all(workers.map((w) => w.exited));
      }
      console.log('all exited');
    })();`);
  assert.strictEqual(r.signal, null, r.stderr);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, 'all exited\n');
}

module.exports = { runScript, terminateWorkers, weftPath };
