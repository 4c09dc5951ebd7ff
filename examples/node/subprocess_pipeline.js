'use strict';
// A subprocess pipeline with weft in Node: a producer child's lines flow through this
// process (numbered as they pass) into a consumer child's stdin, with flow control
// (drain), under a timeout; both children run in one TaskGroup.
//   WEFT_NODE_ADDON=build/dev/bindings/node/weft.node node examples/node/subprocess_pipeline.js
const weft = require('../../bindings/node');

(async () => {
  const producer = weft.shell('for w in weft tasks pipes streams; do echo $w; done', { stdout: 'pipe' });
  const consumer = weft.exec('sort', ['-r'], { stdin: 'pipe', stdout: 'pipe' });

  const [sorted] = await weft.timeout(10, () => weft.taskGroup(async (group) => {
    group.spawn(async () => {
      let n = 0;
      for await (const line of producer.stdout) {
        consumer.stdin.write(`${++n} ${line}`);
        await consumer.stdin.drain();
      }
      consumer.stdin.close();
      return producer.wait();
    }, { name: 'pump' });
    const reader = group.spawn(() => consumer.stdout.read(), { name: 'collect' });
    return Promise.all([reader, consumer.wait()]);
  }));

  process.stdout.write(sorted.toString());
  console.log(`producer exited ${producer.returncode}, consumer exited ${consumer.returncode}`);
})();
