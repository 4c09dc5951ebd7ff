// The ESM entry: the same module as require('weft').
import weft from './index.js';

export default weft;
export const {
  version, time, codes, WeftError, CancelledError, TimeoutError, InvalidStateError,
  IncompleteReadError, LimitOverrunError, QueueEmpty, QueueFull, QueueShutDown,
  BrokenBarrierError, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, sleep, gather, wait,
  waitFor, shield, isFuture, asCompleted, TaskGroup, TaskGroupError, taskGroup, Timeout,
  timeout, timeoutAt, Task, spawn, currentTask, allTasks, Lock, Event, Condition, Semaphore,
  BoundedSemaphore, Barrier, Process, exec, shell,
  Queue, LifoQueue, PriorityQueue,
} = weft;
// The network I/O (lib/streams.js, lib/protocol.js, lib/udp.js).
export const {
  StreamReader, StreamWriter, openConnection, openUnixConnection, startServer, startUnixServer,
  toDuplex, Server, Transport, createServer, createUnixServer, createConnection,
  createUnixConnection, createDatagramEndpoint, openDatagramEndpoint, DatagramEndpoint,
} = weft;
