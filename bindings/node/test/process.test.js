'use strict';
// Subprocesses: exec and shell, pipes as streams, communicate, wait, signals, returncode.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');
const { runScript, terminateWorkers } = require('./helpers.js');

test('communicate() writes stdin, collects stdout and stderr and the return code', async () => {
  const p = weft.shell('cat; echo err >&2; exit 3', { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
  assert.ok(p.pid > 0);
  const { stdout, stderr, returncode } = await p.communicate('hello\n');
  assert.strictEqual(stdout.toString(), 'hello\n');
  assert.strictEqual(stderr.toString(), 'err\n');
  assert.strictEqual(returncode, 3);
  assert.strictEqual(p.returncode, 3);
});

test('stdout is a reader: lines with for await, then EOF; stderr may join stdout', async () => {
  const p = weft.exec('sh', ['-c', 'echo a; echo b >&2; echo c'], { stdout: 'pipe', stderr: 'stdout' });
  assert.strictEqual(p.stderr, null);
  const lines = [];
  for await (const line of p.stdout) lines.push(line.toString());
  assert.deepStrictEqual(lines, ['a\n', 'b\n', 'c\n']);
  assert.strictEqual(await p.wait(), 0);
});

test('stdin is a writer: write, drain, close; readExactly/readUntil/read follow asyncio', async () => {
  const p = weft.exec('cat', [], { stdin: 'pipe', stdout: 'pipe' });
  p.stdin.write('one;two;');
  p.stdin.write(Buffer.from('xyz'));
  await p.stdin.drain();
  p.stdin.close();
  assert.strictEqual((await p.stdout.readUntil(';')).toString(), 'one;');
  assert.strictEqual((await p.stdout.readExactly(4)).toString(), 'two;');
  await assert.rejects(p.stdout.readExactly(10), (err) => err instanceof weft.IncompleteReadError &&
                       err.partial.toString() === 'xyz' && err.expected === 10);
  assert.strictEqual((await p.stdout.read()).length, 0);
  assert.strictEqual(await p.wait(), 0);
});

test('the pipes are the streams\' own StreamReader and StreamWriter, with the reader limit', async () => {
  const p = weft.exec('cat', [], { stdin: 'pipe', stdout: 'pipe', limit: 8 });
  assert.ok(p.stdin instanceof weft.StreamWriter);
  assert.ok(p.stdout instanceof weft.StreamReader);
  assert.strictEqual(p.stdin.reader, null);
  assert.strictEqual(p.stdout.limit, 8);
  p.stdin.writelines(['0123456789', 'ab\n']);
  p.stdin.close();
  // Past the limit with no newline: asyncio's readline drops the line (ValueError).
  await assert.rejects(p.stdout.readline(), weft.LimitOverrunError);
  assert.strictEqual((await p.stdout.read()).length, 0);
  assert.ok(p.stdout.atEof());
  await p.stdin.waitClosed();
  assert.strictEqual(await p.wait(), 0);
});

test('terminate(), kill() and sendSignal(); a reaped child is not signalled again', async () => {
  const p = weft.exec('sleep', ['3600']);
  assert.strictEqual(p.returncode, null);
  p.terminate();
  assert.strictEqual(await p.wait(), -15);
  assert.throws(() => p.kill(), (err) => err.code === 'ESRCH');
  const q = weft.exec('sleep', ['3600']);
  q.sendSignal('SIGINT');
  assert.strictEqual(await q.wait(), -2);
  assert.throws(() => q.sendSignal('SIGNOPE'), TypeError);
});

test('a program that cannot run fails at once with its code; bad input throws TypeErrors', () => {
  assert.throws(() => weft.exec('/nonexistent/program'), (err) => err.code === 'ENOENT');
  assert.throws(() => weft.exec(42), TypeError);
  assert.throws(() => weft.shell('true', { stdout: 'bogus' }), TypeError);
  assert.throws(() => weft.exec('true', [], { stdin: 'stdout' }), TypeError);
});

test('cwd and env reach the child', async () => {
  const p = weft.shell('pwd; echo $WEFT_X', { stdout: 'pipe', cwd: '/', env: { WEFT_X: 'y', PATH: process.env.PATH } });
  const { stdout } = await p.communicate();
  assert.strictEqual(stdout.toString(), '/\ny\n');
});

test('node stays alive while a child runs, and exits once it is done', () => {
  const r = runScript(`
    const p = weft.exec('sleep', ['0.2']);
    p.wait().then((code) => console.log('child exited', code));`);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, 'child exited 0\n');
});

test('Workers terminated with children, pipe reads and stdin writes pending exit cleanly', () => {
  terminateWorkers(`
    (async () => {
      const cat = weft.exec('cat', [], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
      cat.stdin.write(Buffer.alloc(1 << 20)); // more than the pipe holds: partly unsent
      cat.stdout.readExactly(4 << 20).catch(() => {}); // pending at termination
      const echo = weft.exec('cat', [], { stdin: 'pipe', stdout: 'pipe' }); // ends with its stdin
      for await (const line of echo.stdout) void line; // never ends before termination
    })();
    weft.sleep(0.01).then(ready);`);
});
