'use strict';
// An echo server and a TaskGroup of clients with weft in Node: the server answers each line
// in upper case; five clients talk to it at once under one deadline; one client is too slow
// for its own timeout and says so. The server closes once the group is done.
//   WEFT_NODE_ADDON=build/dev/bindings/node/weft.node node examples/node/echo.js
const weft = require('../../bindings/node');

async function handle(reader, writer) {
  // `for await` gives lines until the client's EOF, as asyncio's StreamReader does.
  for await (const line of reader) {
    writer.write(line.toString().toUpperCase());
    await writer.drain();
  }
  writer.close();
  await writer.waitClosed();
}

async function client(port, name, lines, pause) {
  const [reader, writer] = await weft.openConnection('127.0.0.1', port);
  const replies = [];
  try {
    for (const line of lines) {
      writer.write(`${line}\n`);
      await writer.drain();
      replies.push((await reader.readline()).toString().trimEnd());
      await weft.sleep(pause);
    }
  } finally {
    writer.close();
    await writer.waitClosed();
  }
  return `${name}: ${replies.join(' ')}`;
}

(async () => {
  const server = await weft.startServer(handle, '127.0.0.1', 0);
  const port = server.port();
  const results = [];
  await weft.timeout(10, () => weft.taskGroup(async (group) => {
    for (let i = 0; i < 4; i++) {
      group.spawn(async () => results.push(await client(port, `client-${i}`, ['hello', `from ${i}`], 0.001)));
    }
    group.spawn(async () => {
      try {
        // Each exchange waits 1 s: the client's 50 ms budget runs out first.
        results.push(await weft.timeout(0.05, () => client(port, 'slow', ['one', 'two'], 1)));
      } catch (err) {
        if (!(err instanceof weft.TimeoutError)) throw err;
        results.push('slow: timed out after 50 ms');
      }
    });
  }));
  for (const line of results.sort()) console.log(line);
  server.close();
  await server.waitClosed();
  console.log(`server closed; tasks left: ${weft.allTasks().length}`);
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
