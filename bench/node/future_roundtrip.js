'use strict';
// The round trip of a core future to an awaited Promise against `await new Promise(setImmediate)`, with
// 1 and 1000 in flight. Prints ns per awaited operation, the median of 7 interleaved rounds.
//   node bench/node/future_roundtrip.js [iterations]
const weft = require('../../bindings/node');

const N = Number(process.argv[2] || 20000);

async function serial(make) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await make();
  return Number(process.hrtime.bigint() - t0) / N;
}

async function parallel(make, width) {
  const rounds = Math.max(1, Math.floor(N / width));
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    const ps = new Array(width);
    for (let i = 0; i < width; i++) ps[i] = make();
    await Promise.all(ps);
  }
  return Number(process.hrtime.bigint() - t0) / (rounds * width);
}

// A Queue get served at once by a put: the getter's future completes and its done
// callback runs on the loop's next turn, with no timer involved.
const queue = new weft.Queue();
function queueRoundTrip() {
  const p = queue.get();
  queue.putNowait(1);
  return p;
}

const peers = {
  'weft Queue.get() (put at once)': queueRoundTrip,
  'weft.sleep(0)': () => weft.sleep(0),
  'new Promise(setImmediate)': () => new Promise(setImmediate),
};

(async () => {
  const results = {};
  for (let round = 0; round < 7; round++) {
    for (const [name, make] of Object.entries(peers)) {
      (results[`${name}, 1 in flight`] ??= []).push(await serial(make));
      (results[`${name}, 1000 in flight`] ??= []).push(await parallel(make, 1000));
    }
  }
  for (const [name, xs] of Object.entries(results)) {
    xs.sort((a, b) => a - b);
    console.log(`${name.padEnd(42)} ${xs[3].toFixed(0).padStart(7)} ns`);
  }
})();
