'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  for (const program of ['/nonexistent/weft-no-such-program', 'weft-no-such-program']) {
    try {
      weft.exec(program);
      emit('started');
    } catch (e) {
      emit('exec', e);
    }
  }
}

run(main);
