'use strict';
// The process stays alive exactly while weft has work that would keep a Node program
// alive: a pending sleep does, a Promise nothing can settle does not.
const test = require('node:test');
const assert = require('node:assert');
const { runScript } = require('./helpers.js');

test('a pending sleep keeps node alive until it fires', () => {
  const r = runScript(`weft.sleep(0.05).then(() => console.log('woke'));`);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, 'woke\n');
});

test('a chain of sleeps runs to its end', () => {
  const r = runScript(`(async () => {
    for (let i = 0; i < 5; i++) await weft.sleep(0.001);
    console.log('done');
  })();`);
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, 'done\n');
});

test('node exits when weft has nothing pending', () => {
  const r = runScript(`console.log(weft.version);`);
  assert.strictEqual(r.status, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('node exits with only waits nothing can end (as with a Promise never settled)', () => {
  const r = runScript(`
    const lock = new weft.Lock();
    lock.acquire().then(() => lock.acquire()).then(() => console.log('never'));
    new weft.Event().wait().then(() => console.log('never'));
    new weft.Queue().get().then(() => console.log('never'));
    process.on('exit', () => console.log('exit'));`);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, 'exit\n');
});

test('a cancelled sleep no longer keeps node alive', () => {
  const r = runScript(`
    const ac = new AbortController();
    weft.sleep(3600, undefined, { signal: ac.signal })
      .catch((e) => console.log(e.name));
    ac.abort();`);
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, 'CancelledError\n');
});

test('a task sleeping keeps node alive; one waiting on nothing does not', () => {
  let r = runScript(`weft.spawn(async () => { await weft.sleep(0.01); console.log('task done'); });`);
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, 'task done\n');
  r = runScript(`
    weft.spawn(async () => { await new Promise(() => {}); console.log('never'); });
    weft.spawn(async () => { await new weft.Event().wait(); console.log('never'); });`);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, '');
});
