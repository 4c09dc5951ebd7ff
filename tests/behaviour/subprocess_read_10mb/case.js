'use strict';
const { weft, emit, run } = require('../casetrace.js');

const SIZE = 10 * 1024 * 1024;

async function main() {
  const proc = weft.exec('/bin/sh', ['-c', `yes 0123456789abcdef | head -c ${SIZE}`], { stdout: 'pipe' });
  let total = 0;
  let lines = 0;
  for (;;) {
    const chunk = await proc.stdout.read(65536);
    if (chunk.length === 0) break;
    total += chunk.length;
    for (const b of chunk) if (b === 0x0a) lines++;
  }
  emit('read', total, 'lines', lines);
  emit('returncode', await proc.wait());
}

run(main);
