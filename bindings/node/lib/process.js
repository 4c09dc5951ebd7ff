'use strict';
// Subprocesses, as asyncio's create_subprocess_exec / create_subprocess_shell, on the core's
// stream form (src/process.c). The pipes get a reader and a writer of their own here, thin
// over the core's stream functions (asyncio's read rules are the core's); the network
// streams of the binding are separate work.
const os = require('node:os');

module.exports = function processApi(ctx) {
  const { native } = ctx;
  const kHandle = Symbol('weft.processHandle');
  const modes = { inherit: 0, pipe: 1, ignore: 2, devnull: 2, stdout: 4 };
  const READ = 0;
  const READLINE = 1;
  const READEXACTLY = 2;
  const READUNTIL = 3;

  function modeOf(value, which) {
    const m = modes[value ?? 'inherit'];
    if (m === undefined || (m === 4 && which !== 2)) {
      throw new TypeError(`bad ${['stdin', 'stdout', 'stderr'][which]} option: ${value}`);
    }
    return m;
  }

  function signalNumber(signal) {
    if (typeof signal === 'number') return signal;
    const n = os.constants.signals[signal];
    if (n === undefined) throw new TypeError(`unknown signal ${signal}`);
    return n;
  }

  /** The child's stdout or stderr: asyncio's StreamReader reads, each a Buffer. */
  class ProcessReader {
    constructor(handle, fd) {
      this[kHandle] = handle;
      this.fd = fd;
    }

    /** Up to n bytes as soon as any are there (an empty Buffer at EOF); n < 0: to EOF. */
    read(n = -1, options) {
      return native.processRead(this[kHandle], this.fd, READ, n, options);
    }

    readline(options) {
      return native.processRead(this[kHandle], this.fd, READLINE, undefined, options);
    }

    readExactly(n, options) {
      return native.processRead(this[kHandle], this.fd, READEXACTLY, n, options);
    }

    readUntil(separator = '\n', options) {
      return native.processRead(this[kHandle], this.fd, READUNTIL, Buffer.from(separator), options);
    }

    /** The lines, until EOF. */
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const line = await this.readline();
        if (line.length === 0) return;
        yield line;
      }
    }
  }

  /** The child's stdin: write (buffered), drain (flow control), close (EOF after a flush). */
  class ProcessWriter {
    constructor(handle) {
      this[kHandle] = handle;
    }

    write(data) {
      native.processStdin(this[kHandle], 0, typeof data === 'string' ? Buffer.from(data) : data);
    }

    drain() {
      return native.processStdin(this[kHandle], 1);
    }

    close() {
      native.processStdin(this[kHandle], 2);
    }
  }

  class Process {
    constructor() {
      throw new TypeError('Processes are made by weft.exec() and weft.shell()');
    }

    get pid() {
      return native.processInfo(this[kHandle])[0];
    }

    /** The exit status, minus the signal that killed it, or null while it runs. */
    get returncode() {
      return native.processInfo(this[kHandle])[1];
    }

    /** Resolves with the return code once the child exits. */
    wait(options) {
      return native.processWait(this[kHandle], options);
    }

    /** Writes input to stdin and closes it, reads stdout and stderr to EOF, waits for the
     * exit: { stdout, stderr, returncode } (null for a stream that is no pipe). */
    async communicate(input, options) {
      const data = input === undefined || input === null ? undefined
        : typeof input === 'string' ? Buffer.from(input) : input;
      const [stdout, stderr] = await native.processCommunicate(this[kHandle], data, options);
      return { stdout, stderr, returncode: this.returncode };
    }

    sendSignal(signal) {
      native.processSignal(this[kHandle], signalNumber(signal));
    }

    terminate() {
      this.sendSignal('SIGTERM');
    }

    kill() {
      this.sendSignal('SIGKILL');
    }
  }

  function make(target, shell, options = {}) {
    const stdio = [modeOf(options.stdin, 0), modeOf(options.stdout, 1), modeOf(options.stderr, 2)];
    const env = options.env === undefined ? undefined
      : Object.entries(options.env).map(([k, v]) => `${k}=${v}`);
    const handle = native.processSpawn(target, shell, stdio, options.cwd, env, options.limit);
    const p = Object.create(Process.prototype);
    p[kHandle] = handle;
    p.stdin = stdio[0] === 1 ? new ProcessWriter(handle) : null;
    p.stdout = stdio[1] === 1 ? new ProcessReader(handle, 1) : null;
    p.stderr = stdio[2] === 1 ? new ProcessReader(handle, 2) : null;
    return p;
  }

  /** Runs program with args (no shell); options: stdin/stdout/stderr ('inherit', 'pipe',
   * 'ignore', stderr also 'stdout'), cwd, env (an object), limit (the readers' bytes). */
  function exec(program, args = [], options = undefined) {
    if (typeof program !== 'string') throw new TypeError('exec() needs a program name');
    return make([program, ...args.map(String)], false, options);
  }

  /** Runs command with /bin/sh -c; options as exec()'s. */
  function shell(command, options = undefined) {
    if (typeof command !== 'string') throw new TypeError('shell() needs a command string');
    return make(command, true, options);
  }

  return { Process, ProcessReader, ProcessWriter, exec, shell };
};
