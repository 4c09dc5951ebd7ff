'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  for (const [name, Kind] of [['Queue', weft.Queue], ['LifoQueue', weft.LifoQueue],
                              ['PriorityQueue', weft.PriorityQueue]]) {
    const q = new Kind();
    // asyncio's PriorityQueue compares the items; this one orders by the priority given.
    for (const item of [3, 1, 4, 1, 5, 9, 2, 6]) {
      if (Kind === weft.PriorityQueue) q.putNowait(item, item);
      else q.putNowait(item);
    }
    const got = [];
    while (!q.empty()) got.push(await q.get());
    emit(name, ...got);
  }
}

run(main);
