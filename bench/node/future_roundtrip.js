'use strict';
// The round trip of a core future to an awaited Promise against `await new Promise(setImmediate)`, with
// 1 and 1000 in flight. Prints ns per awaited operation, the median of 7 interleaved rounds:
// wall-clock time and the process's CPU time (user + system), which a loaded machine moves
// far less.
//   node bench/node/future_roundtrip.js [iterations]
const weft = require('../../bindings/node');

const N = Number(process.argv[2] || 20000);

// [wall, cpu] nanoseconds since `start` (measure()'s result), per operation.
function measure() {
  return [process.hrtime.bigint(), process.cpuUsage()];
}
function since([t0, c0], ops) {
  const c = process.cpuUsage(c0);
  return [Number(process.hrtime.bigint() - t0) / ops, ((c.user + c.system) * 1000) / ops];
}

async function serial(make) {
  const start = measure();
  for (let i = 0; i < N; i++) await make();
  return since(start, N);
}

async function parallel(make, width) {
  const rounds = Math.max(1, Math.floor(N / width));
  const start = measure();
  for (let r = 0; r < rounds; r++) {
    const ps = new Array(width);
    for (let i = 0; i < width; i++) ps[i] = make();
    await Promise.all(ps);
  }
  return since(start, rounds * width);
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
    const median = (i) => xs.map((x) => x[i]).sort((a, b) => a - b)[3];
    console.log(`${name.padEnd(42)} ${median(0).toFixed(0).padStart(7)} ns wall ` +
                `${median(1).toFixed(0).padStart(7)} ns cpu`);
  }
})();
