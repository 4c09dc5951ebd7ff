'use strict';
const { weft, emit, run } = require('../casetrace.js');

const SIZE = 1024 * 1024;

async function main() {
  const data = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) data[i] = i % 251;
  const proc = weft.exec('cat', [], { stdin: 'pipe', stdout: 'pipe' });
  const { stdout, stderr } = await proc.communicate(data);
  emit('stdout', stdout.length, 'same', stdout.equals(data), 'stderr', stderr);
  emit('returncode', proc.returncode);
}

run(main);
