'use strict';
// asCompleted, as asyncio.as_completed, on the core's iterator (src/as_completed.c): an
// async iterator handing out the inputs themselves in the order they complete, so that
// `await` on each gives its result or throws its error.
module.exports = function asCompletedApi(ctx) {
  const { native } = ctx;

  /** `for await (const p of asCompleted(ps, { timeout })) { const v = await p; }` */
  function asCompleted(awaitables, { timeout } = {}) {
    const inputs = ctx.inputsOf(awaitables);
    const handle = native.asCompletedNew(inputs, timeout ?? -1);
    let left = inputs.length;
    const close = () => {
      if (left >= 0) native.asCompletedClose(handle);
      left = -1;
    };
    if (left === 0) close();
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        if (left <= 0) return { value: undefined, done: true };
        let index;
        try {
          index = await native.asCompletedNext(handle);
        } catch (err) {
          close(); // a TimeoutError ends the iteration, as in asyncio
          throw err;
        }
        if (--left === 0) close();
        return { value: inputs[index], done: false };
      },
      async return(value) {
        close();
        return { value, done: true };
      },
    };
  }

  return { asCompleted };
};
