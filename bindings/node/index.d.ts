// Types of the weft package (index.js). Every operation that waits returns a Promise that
// carries a core future (see isFuture), and accepts { signal } to cancel that future.
import type { StreamReader, StreamWriter } from './lib/net';

export interface SignalOptions {
  /** Aborting it cancels the operation: its Promise rejects with a CancelledError. */
  signal?: AbortSignal;
}

/** weft's version, "major.minor.patch". */
export const version: string;
/** The loop's monotonic clock, in seconds. */
export function time(): number;
/** The core's error table: code name -> errno (negative). */
export const codes: Readonly<Record<string, number>>;

export class WeftError extends Error {
  constructor(message?: string, code?: string, options?: ErrorOptions);
  /** The name of the core's error code: 'ECANCELLED', 'ECONNREFUSED', ... */
  code: string;
  /** Its number in the core's table. */
  errno: number;
}
export class CancelledError extends WeftError {}
export class TimeoutError extends WeftError {}
export class InvalidStateError extends WeftError {}
export class IncompleteReadError extends WeftError {}
export class LimitOverrunError extends WeftError {}
export class QueueEmpty extends WeftError {}
export class QueueFull extends WeftError {}
export class QueueShutDown extends WeftError {}
export class BrokenBarrierError extends WeftError {}

export const FIRST_COMPLETED: 1;
export const FIRST_EXCEPTION: 2;
export const ALL_COMPLETED: 3;
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** Resolves after `seconds` (0 yields to the loop once) with `value`. */
export function sleep(seconds: number): Promise<void>;
export function sleep<T>(seconds: number, value: T, options?: SignalOptions): Promise<T>;

type Awaited_<T> = T extends PromiseLike<infer U> ? U : T;
/** Every input's result, in input order; the first failure fails it unless returnExceptions. */
export function gather<T extends readonly unknown[]>(
  awaitables: T, options?: SignalOptions & { returnExceptions?: false }):
  Promise<{ -readonly [K in keyof T]: Awaited_<T[K]> }>;
export function gather<T extends readonly unknown[]>(
  awaitables: T, options: SignalOptions & { returnExceptions: true }):
  Promise<{ -readonly [K in keyof T]: Awaited_<T[K]> | Error }>;

/** Waits for the returnWhen condition or the timeout (seconds); never cancels the inputs. */
export function wait<T>(
  awaitables: Iterable<T>,
  options?: SignalOptions & { returnWhen?: ReturnWhen; timeout?: number },
): Promise<{ done: Set<T>; pending: Set<T> }>;

/** The input's outcome, or a TimeoutError after cancelling it once `timeout` seconds pass. */
export function waitFor<T>(awaitable: T, timeout?: number | null,
                           options?: SignalOptions): Promise<Awaited_<T>>;

/** The input's outcome; aborting the result's signal leaves the input running. */
export function shield<T>(awaitable: T, options?: SignalOptions): Promise<Awaited_<T>>;

/** Whether a value is a weft Promise (one that carries a core future). */
export function isFuture(value: unknown): boolean;

export class Lock {
  constructor();
  acquire(options?: SignalOptions): Promise<void>;
  release(): void;
  locked(): boolean;
}

export class Event {
  constructor();
  wait(options?: SignalOptions): Promise<void>;
  set(): void;
  clear(): void;
  isSet(): boolean;
}

export class Condition {
  constructor(lock?: Lock);
  acquire(options?: SignalOptions): Promise<void>;
  release(): void;
  locked(): boolean;
  wait(options?: SignalOptions): Promise<void>;
  /** asyncio's wait_for: waits (lock held) until predicate() is truthy; its value. */
  waitFor<T>(predicate: () => T, options?: SignalOptions): Promise<T>;
  notify(n?: number): void;
  notifyAll(): void;
}

export class Semaphore {
  constructor(value?: number);
  acquire(options?: SignalOptions): Promise<void>;
  release(): void;
  locked(): boolean;
  readonly value: number;
}
export class BoundedSemaphore extends Semaphore {}

export class Barrier {
  constructor(parties: number);
  /** Resolves with the arrival index, 0 to parties - 1. */
  wait(options?: SignalOptions): Promise<number>;
  reset(options?: SignalOptions): Promise<void>;
  abort(options?: SignalOptions): Promise<void>;
  readonly parties: number;
  readonly nWaiting: number;
  readonly broken: boolean;
}

export class Queue<T = unknown> {
  /** maxsize <= 0 (the default) means unbounded. */
  constructor(maxsize?: number);
  put(item: T, options?: SignalOptions & { priority?: number }): Promise<void>;
  putNowait(item: T, priority?: number): void;
  get(options?: SignalOptions): Promise<T>;
  getNowait(): T;
  join(options?: SignalOptions): Promise<void>;
  taskDone(): void;
  shutdown(immediate?: boolean): void;
  qsize(): number;
  empty(): boolean;
  full(): boolean;
  readonly maxsize: number;
  readonly isShutdown: boolean;
}
export class LifoQueue<T = unknown> extends Queue<T> {}
/** Lowest integer priority first; FIFO among equal priorities. */
export class PriorityQueue<T = unknown> extends Queue<T> {}
export * from './lib/net';

// ---- Tasks and structured concurrency ---------------------------------------------------

/** A core task running an async function; awaitable (its result) and cancellable. */
export class Task<T = unknown> implements PromiseLike<T> {
  private constructor();
  readonly name: string;
  /** Requests cancellation: true if requested, false if the task is already done. */
  cancel(message?: string): boolean;
  cancelling(): number;
  uncancel(): number;
  done(): boolean;
  cancelled(): boolean;
  /** Aborted once cancellation reaches the task: pass it to APIs that are not weft's. */
  readonly signal: AbortSignal;
  then<R1 = T, R2 = never>(onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
                           onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null):
    Promise<R1 | R2>;
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R>;
  finally(onFinally?: (() => void) | null): Promise<T>;
}
export function spawn<T>(fn: (task: Task) => T | PromiseLike<T>, options?: { name?: string }):
  Task<T>;
export function currentTask(): Task | null;
export function allTasks(): Task[];

/** The failures of a TaskGroup's children (and its body), in the order they happened. */
export class TaskGroupError extends AggregateError {
  readonly code: 'EGROUP';
  readonly errno: number;
}
export class TaskGroup {
  private constructor();
  spawn<T>(fn: (task: Task) => T | PromiseLike<T>, options?: { name?: string }): Task<T>;
  /** Cancels the children and the body; the block then ends without an error. */
  cancel(): void;
}
/** asyncio's `async with TaskGroup()`: body's result once every child is done. */
export function taskGroup<T>(body: (group: TaskGroup) => T | PromiseLike<T>): Promise<T>;

export class Timeout {
  private constructor();
  /** The deadline in loop time (time()), or null for none. */
  when(): number | null;
  reschedule(when: number | null): void;
  expired(): boolean;
}
/** Runs body, cancelled after `delay` seconds (null: never); the expiry is a TimeoutError. */
export function timeout<T>(delay: number | null | undefined,
                           body: (timeout: Timeout) => T | PromiseLike<T>): Promise<T>;
/** timeout() with a deadline in loop time (time()). */
export function timeoutAt<T>(when: number | null | undefined,
                             body: (timeout: Timeout) => T | PromiseLike<T>): Promise<T>;

/** The inputs themselves, in the order they complete; a TimeoutError once `timeout` passes. */
export function asCompleted<T>(awaitables: Iterable<T>, options?: { timeout?: number | null }):
  AsyncIterableIterator<T>;

// ---- Subprocesses ---------------------------------------------------------------------------

export type StdioMode = 'inherit' | 'pipe' | 'ignore' | 'devnull';
export interface ProcessOptions {
  stdin?: StdioMode;
  stdout?: StdioMode;
  /** 'stdout': into stdout's pipe or wherever stdout goes. */
  stderr?: StdioMode | 'stdout';
  cwd?: string;
  env?: Record<string, string>;
  /** The readers' buffer limit in bytes (asyncio's limit; default 64 KiB). */
  limit?: number;
}
export class Process {
  private constructor();
  readonly pid: number;
  /** The exit status, minus the signal that killed it, or null while it runs. */
  readonly returncode: number | null;
  /** The pipes: the streams' own reader and writer classes (stdin's `reader` is null). */
  readonly stdin: StreamWriter | null;
  readonly stdout: StreamReader | null;
  readonly stderr: StreamReader | null;
  wait(options?: SignalOptions): Promise<number>;
  communicate(input?: string | Uint8Array | null, options?: SignalOptions):
    Promise<{ stdout: Buffer | null; stderr: Buffer | null; returncode: number | null }>;
  sendSignal(signal: number | NodeJS.Signals): void;
  terminate(): void;
  kill(): void;
}
export function exec(program: string, args?: readonly string[], options?: ProcessOptions): Process;
export function shell(command: string, options?: ProcessOptions): Process;
