'use strict';
// timeout / timeoutAt, as asyncio's, on the core's timeout (src/timeout.c): on expiry the
// task is cancelled, and the block's end turns that cancellation into a TimeoutError.
const { inTask, errnoOf } = require('./structured.js');

module.exports = function timeoutApi(ctx) {
  const { native } = ctx;
  const kHandle = Symbol('weft.timeoutHandle');

  class Timeout {
    constructor() {
      throw new TypeError('Timeouts are made by weft.timeout() and weft.timeoutAt()');
    }

    /** The deadline in loop time (weft.time()), or null for none. */
    when() {
      return native.timeoutWhen(this[kHandle]);
    }

    /** Moves the deadline to loop time `when` (null: none). */
    reschedule(when) {
      native.timeoutReschedule(this[kHandle], when);
    }

    /** Whether the deadline passed (and so the block was cancelled). */
    expired() {
      return native.timeoutExpired(this[kHandle]);
    }
  }

  async function run(parent, seconds, at, body) {
    const handle = native.timeoutEnter(parent, seconds, at);
    const cm = Object.create(Timeout.prototype);
    cm[kHandle] = handle;
    let result;
    let error;
    let errno = 0;
    try {
      result = await body(cm);
    } catch (err) {
      error = err;
      errno = errnoOf(ctx, err);
    }
    // Expired and exited: the handle's methods still answer for the deadline it had.
    const expired = native.timeoutExpired(handle);
    const when = native.timeoutWhen(handle);
    const rc = native.timeoutExit(handle, errno);
    cm[kHandle] = undefined;
    Object.defineProperties(cm, {
      when: { value: () => when },
      expired: { value: () => expired },
      // asyncio's RuntimeError for a Timeout no longer entered.
      reschedule: {
        value: () => {
          throw new ctx.InvalidStateError(`cannot reschedule a ${expired ? 'expired' : 'finished'} timeout`,
                                          'EINVALIDSTATE');
        },
      },
    });
    if (rc === ctx.codes.ETIMEDOUT && errno === ctx.codes.ECANCELLED) {
      throw new ctx.TimeoutError('the timeout expired', 'ETIMEDOUT', { cause: error });
    }
    if (errno !== 0) throw error;
    return result;
  }

  function check(body) {
    if (typeof body !== 'function') throw new TypeError('the block must be a function');
  }

  /** Runs body(timeout) in the current task (or a new one), cancelled after `delay` seconds. */
  function timeout(delay, body) {
    check(body);
    return inTask(ctx, (parent) => run(parent, delay ?? null, false, body));
  }

  /** As timeout(), with a deadline in loop time (weft.time()). */
  function timeoutAt(when, body) {
    check(body);
    return inTask(ctx, (parent) => run(parent, when ?? null, true, body));
  }

  return { Timeout, timeout, timeoutAt };
};
