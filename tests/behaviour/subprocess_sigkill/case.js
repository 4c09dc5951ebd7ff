'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  let proc = weft.exec('sleep', ['30']);
  emit('returncode-running', proc.returncode);
  proc.sendSignal('SIGKILL');
  emit('killed', 'returncode', await proc.wait());
  proc = weft.exec('/bin/sh', ['-c', 'kill -9 $$']);
  emit('self-killed', 'returncode', await proc.wait());
  proc = weft.exec('/bin/sh', ['-c', 'exit 3']);
  emit('exit', 'returncode', await proc.wait());
}

run(main);
