'use strict';
// Subprocesses, as asyncio's create_subprocess_exec / create_subprocess_shell, on the core's
// stream form (src/process.c). The pipes are the core's streams, with the same StreamReader
// and StreamWriter as the network connections (lib/streams.js), as in asyncio.
const os = require('node:os');

module.exports = function processApi(ctx, { StreamReader, StreamWriter }) {
  const { native } = ctx;
  const kHandle = Symbol('weft.processHandle');
  const modes = { inherit: 0, pipe: 1, ignore: 2, devnull: 2, stdout: 4 };

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
    const [stdin, stdout, stderr] = native.processStreams(handle);
    p.stdin = stdin === null ? null : new StreamWriter(stdin, null);
    p.stdout = stdout === null ? null : new StreamReader(stdout);
    p.stderr = stderr === null ? null : new StreamReader(stderr);
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

  return { Process, exec, shell };
};
