// The package loads from ESM too, as the same module as require('weft').
import test from 'node:test';
import assert from 'node:assert';
import { createRequire } from 'node:module';
import weft, { sleep, Lock, CancelledError } from '../index.mjs';

test('import gives the CommonJS module\'s exports', async () => {
  const require = createRequire(import.meta.url);
  assert.strictEqual(weft, require('../index.js'));
  assert.strictEqual(sleep, weft.sleep);
  assert.strictEqual(Lock, weft.Lock);
  assert.strictEqual(await sleep(0, 'esm'), 'esm');
  await assert.rejects(sleep(1, undefined, { signal: AbortSignal.abort() }), CancelledError);
});
