'use strict';
// weft for Node.js: asyncio's concurrency model from weft's C core, on Node's own loop.
// Everything that waits is a core future seen as a Promise; the semantics (who wakes
// first, what cancellation does, when a combinator finishes) are the core's, never
// re-implemented here. This file only shapes arguments and results.
const path = require('node:path');
const { AsyncLocalStorage } = require('node:async_hooks');

function loadAddon() {
  const candidates = [];
  // A relative WEFT_NODE_ADDON is a path from the current directory, as on a command line
  // (require() would take it for a package name).
  const chosen = process.env.WEFT_NODE_ADDON ? path.resolve(process.env.WEFT_NODE_ADDON) : null;
  if (chosen) candidates.push(chosen);
  candidates.push(path.join(__dirname, 'build', 'weft.node'));
  let first;
  for (const file of candidates) {
    try {
      return require(file);
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND' || file === chosen) throw err;
      first = first || err;
    }
  }
  const err = new Error(`weft: the addon is not built (looked for ${candidates.join(', ')}); ` +
                        'run `npm install` in bindings/node');
  err.cause = first;
  throw err;
}

const native = loadAddon();

// ---- Errors ---------------------------------------------------------------------------
// The codes come from the core's table (WEFT_ERRNO_MAP, compiled into the addon): `code`
// is the table's name ('ECANCELLED', 'ECONNREFUSED', ...) and `errno` its number.
const codes = Object.freeze(Object.fromEntries(native.codes.map(([name, errno]) => [name, errno])));

class WeftError extends Error {
  constructor(message, code = 'EUNKNOWN', options) {
    super(message, options);
    this.code = code;
    this.errno = codes[code] ?? codes.EUNKNOWN;
  }
  get name() {
    return this.constructor.name;
  }
}

function subclass(name) {
  // A named class per asyncio exception, so that `instanceof` and `err.name` read as there.
  return { [name]: class extends WeftError {} }[name];
}

const CancelledError = subclass('CancelledError');
const TimeoutError = subclass('TimeoutError');
const InvalidStateError = subclass('InvalidStateError');
const IncompleteReadError = subclass('IncompleteReadError');
const LimitOverrunError = subclass('LimitOverrunError');
const QueueEmpty = subclass('QueueEmpty');
const QueueFull = subclass('QueueFull');
const QueueShutDown = subclass('QueueShutDown');
const BrokenBarrierError = subclass('BrokenBarrierError');

// Which class a code of the table gets; the rest are WeftError.
const classOfCode = {
  ECANCELLED: CancelledError,
  ETIMEDOUT: TimeoutError,
  EINVALIDSTATE: InvalidStateError,
  EINCOMPLETE: IncompleteReadError,
  ELIMITOVERRUN: LimitOverrunError,
  EQUEUEEMPTY: QueueEmpty,
  EQUEUEFULL: QueueFull,
  EQUEUESHUTDOWN: QueueShutDown,
  EBROKENBARRIER: BrokenBarrierError,
};
for (const name of Object.keys(classOfCode)) {
  if (!(name in codes)) throw new Error(`weft: the core's error table has no ${name}`);
}

native.setErrorFactory((errno, code, message) => {
  const Cls = classOfCode[code] || WeftError;
  return new Cls(message, code);
});

// ---- Combinators ----------------------------------------------------------------------
const FIRST_COMPLETED = 1;
const FIRST_EXCEPTION = 2;
const ALL_COMPLETED = 3;

const noop = () => {};
// The core takes over the inputs; their own rejections are reported through the
// combinator, so they must not also count as unhandled.
function inputsOf(awaitables) {
  if (awaitables == null || typeof awaitables[Symbol.iterator] !== 'function' ||
      typeof awaitables === 'string') {
    throw new TypeError('expected an iterable of awaitables');
  }
  return handled(Array.from(awaitables));
}

function handled(inputs) {
  for (const p of inputs) if (p !== null && typeof p?.then === 'function') p.then(noop, noop);
  return inputs;
}

function sleep(seconds, value, options) {
  const p = native.sleep(seconds, options);
  return value === undefined ? p : p.then(() => value);
}

function gather(awaitables, { returnExceptions = false, signal } = {}) {
  const inputs = inputsOf(awaitables);
  return native.gather(inputs, !!returnExceptions, { signal }).then(() => gathered(inputs, returnExceptions));
}

async function gathered(inputs, returnExceptions) {
  if (!returnExceptions) return Promise.all(inputs);
  const outcomes = await Promise.allSettled(inputs);
  return outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason));
}

function wait(awaitables, { returnWhen = ALL_COMPLETED, timeout, signal } = {}) {
  const inputs = inputsOf(awaitables);
  return native.wait(inputs, returnWhen, timeout ?? -1, { signal }).then((flags) => {
    const done = new Set();
    const pending = new Set();
    inputs.forEach((p, i) => (flags[i] ? done : pending).add(p));
    return { done, pending };
  });
}

function waitFor(awaitable, timeout, options) {
  handled([awaitable]);
  return native.waitFor(awaitable, timeout ?? -1, options);
}

function shield(awaitable, options) {
  handled([awaitable]);
  return native.shield(awaitable, options);
}

// ---- Tasks ----------------------------------------------------------------------------
// A Task is a core step-driven task running an async function (src/task.c and README.md
// say how): its result, cancellation and bookkeeping are the core's. The function runs in
// an AsyncLocalStorage context holding its Task, which is how a weft Promise awaited in it
// is matched to the task (TaskAwaitable below) and how currentTask() is answered.
const taskStorage = new AsyncLocalStorage();
const kPromise = Symbol('weft.taskPromise');
const kAbort = Symbol('weft.taskAbort');
const kCreator = Symbol('weft.creator');
const kFuture = native.futureKey; // names a pending weft Promise's core future (src/future.c)

// The weft Promises made inside a task get this prototype: `await` then goes through
// `then` (V8 calls a thenable's then, but not a plain Promise's), and so the task learns
// which core future it waits on, the one a cancellation of the task must cancel.
class TaskAwaitable extends Promise {
  static get [Symbol.species]() {
    return Promise;
  }

  then(onFulfilled, onRejected) {
    const task = taskStorage.getStore() ?? this[kCreator];
    if (task !== undefined) native.taskAwaits(task, this);
    return super.then(onFulfilled, onRejected);
  }
}

// Also names a pending Promise for the combinators by its bridge's slot `id` (-1: none),
// which costs far less from here than from C (src/future.c, wn_promise).
function promiseMade(promise, id) {
  const task = taskStorage.getStore();
  if (task === undefined) return false;
  Object.setPrototypeOf(promise, TaskAwaitable.prototype);
  promise[kCreator] = task;
  if (id < 0) return false;
  promise[kFuture] = id;
  return true;
}

function cancelRequested(task) {
  const ac = task[kAbort];
  if (ac !== undefined && !ac.signal.aborted) ac.abort(new CancelledError('the task was cancelled'));
}

native.setTaskHooks(promiseMade, cancelRequested);

class Task {
  constructor() {
    throw new TypeError('Tasks are made by weft.spawn()');
  }

  get name() {
    return native.taskName(this);
  }

  /** Requests cancellation: true if requested, false if the task is already done. */
  cancel(message) {
    const requested = native.taskCancel(this, message);
    if (requested) cancelRequested(this);
    return requested;
  }

  cancelling() {
    return native.taskCancelling(this);
  }

  uncancel() {
    return native.taskUncancel(this);
  }

  done() {
    return native.taskState(this) !== 'pending';
  }

  cancelled() {
    return native.taskState(this) === 'cancelled';
  }

  /** Aborted once cancellation reaches the task: pass it to APIs that are not weft's. */
  get signal() {
    if (this[kAbort] === undefined) {
      this[kAbort] = new AbortController();
      if (this.cancelling() > 0 || this.cancelled()) cancelRequested(this);
    }
    return this[kAbort].signal;
  }

  then(onFulfilled, onRejected) {
    if (this[kPromise] === undefined) this[kPromise] = native.taskPromise(this);
    const current = taskStorage.getStore();
    if (current !== undefined && current !== this) native.taskAwaits(current, this);
    return this[kPromise].then(onFulfilled, onRejected);
  }

  catch(onRejected) {
    return this.then(undefined, onRejected);
  }

  finally(onFinally) {
    return this.then(undefined, undefined).finally(onFinally);
  }
}

/** Runs fn(task) as a core task; the Task is awaitable and cancellable. */
function spawn(fn, { name } = {}) {
  if (typeof fn !== 'function') throw new TypeError('spawn() needs a function');
  if (name !== undefined && typeof name !== 'string') throw new TypeError('name must be a string');
  const task = Object.create(Task.prototype);
  native.taskStart(task, name, () => taskStorage.run(task, async () => fn(task)));
  return task;
}

function currentTask() {
  return taskStorage.getStore() ?? null;
}

// ---- Structured concurrency (lib/): TaskGroup, timeout, asCompleted ------------------------
const structured = { native, codes, spawn, currentTask, inputsOf, TimeoutError, InvalidStateError };
const { TaskGroup, TaskGroupError, taskGroup } = require('./lib/taskgroup.js')(structured);
const { Timeout, timeout, timeoutAt } = require('./lib/timeout.js')(structured);
const { asCompleted } = require('./lib/as_completed.js')(structured);

// One prototype chain per family, as in asyncio (the methods are each class's own).
Object.setPrototypeOf(native.BoundedSemaphore.prototype, native.Semaphore.prototype);
Object.setPrototypeOf(native.LifoQueue.prototype, native.Queue.prototype);
Object.setPrototypeOf(native.PriorityQueue.prototype, native.Queue.prototype);

// asyncio's Condition.wait_for. The predicate is JavaScript, so the loop is here: the core's
// form would call it from the loop's stack (see src/condition.c). Each wait is the core's.
async function conditionWaitFor(cond, predicate, options) {
  let result = predicate();
  while (!result) {
    await cond.wait(options);
    result = predicate();
  }
  return result;
}
Object.defineProperty(native.Condition.prototype, 'waitFor', {
  configurable: true,
  writable: true,
  value: function waitFor(predicate, options) {
    if (typeof predicate !== 'function') throw new TypeError('waitFor() needs a predicate function');
    return conditionWaitFor(this, predicate, options);
  },
});

// The network I/O: streams, the protocol style and UDP, each in its own module.
const streams = require('./lib/streams')(native);
const { Process, exec, shell } = require('./lib/process.js')(structured, streams);
const protocols = require('./lib/protocol')(native);
const udp = require('./lib/udp')(native);

module.exports = {
  ...streams,
  ...protocols,
  ...udp,
  Server: native.Server,
  version: native.version(),
  time: native.time,
  codes,
  WeftError,
  CancelledError,
  TimeoutError,
  InvalidStateError,
  IncompleteReadError,
  LimitOverrunError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  BrokenBarrierError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  ALL_COMPLETED,
  sleep,
  gather,
  wait,
  waitFor,
  shield,
  asCompleted,
  TaskGroup,
  TaskGroupError,
  taskGroup,
  Timeout,
  timeout,
  timeoutAt,
  Process,
  exec,
  shell,
  isFuture: native.isFuture,
  Task,
  spawn,
  currentTask,
  allTasks: native.allTasks,
  Lock: native.Lock,
  Event: native.Event,
  Condition: native.Condition,
  Semaphore: native.Semaphore,
  BoundedSemaphore: native.BoundedSemaphore,
  Barrier: native.Barrier,
  Queue: native.Queue,
  LifoQueue: native.LifoQueue,
  PriorityQueue: native.PriorityQueue,
};
