// A typed use of the package: tsc checks index.d.ts against it (ctest node.types). Each
// line is also a claim about the API's shapes: a wrong type here fails the check.
import * as weft from 'weft';

async function main(): Promise<number> {
  const total: number = await weft.taskGroup(async (tg: weft.TaskGroup) => {
    const a: weft.Task<number> = tg.spawn(async () => 1, { name: 'a' });
    const b = tg.spawn(async (task) => {
      const n: number = task.cancelling();
      await weft.sleep(0.001, undefined, { signal: task.signal });
      return n + 1;
    });
    return (await a) + (await b);
  });

  const fromTimeout: string = await weft.timeout(1.5, async (t: weft.Timeout) => {
    const when: number | null = t.when();
    if (when !== null) t.reschedule(when + 1);
    return t.expired() ? 'late' : 'in time';
  });
  await weft.timeoutAt(weft.time() + 1, () => weft.sleep(0));

  for await (const p of weft.asCompleted([weft.sleep(0.01, 'x'), weft.sleep(0, 'y')], { timeout: 5 })) {
    const s: string = await p;
    void s;
  }

  const [x, y] = await weft.gather([weft.sleep(0, 1), weft.sleep(0, 'two')] as const);
  const sum: number = x + y.length;
  // @ts-expect-error: a Queue<string> takes strings only
  await new weft.Queue<string>().put(42);

  const q = new weft.Queue<string>(10);
  await q.put('item');
  const item: string = await q.get();

  const lock = new weft.Lock();
  await lock.acquire();
  lock.release();
  const cond = new weft.Condition(lock);
  await cond.acquire();
  const ready: number = await cond.waitFor(() => q.qsize(), { signal: AbortSignal.timeout(1000) });
  cond.release();
  void ready;

  try {
    await weft.waitFor(weft.sleep(10), 0.01);
  } catch (err) {
    if (err instanceof weft.TimeoutError) {
      const code: string = err.code;
      void code;
    } else if (err instanceof weft.TaskGroupError) {
      const errors: unknown[] = err.errors;
      void errors;
    }
  }
  const [reader, writer] = await weft.openConnection('127.0.0.1', 25);
  await writer.startTls({ servername: 'mail.example' });
  const upgradedReader: weft.StreamReader | null = writer.reader;
  void [reader, upgradedReader];
  const child: weft.Process = weft.exec('cat', [], { stdin: 'pipe', stdout: 'pipe' });
  const childOut: weft.StreamReader | null = child.stdout;
  const childIn: weft.StreamWriter | null = child.stdin;
  void [childOut, childIn];
  child.stdin?.write('typed\n');
  await child.stdin?.drain();
  child.stdin?.close();
  const line: Buffer | undefined = await child.stdout?.readline();
  const code: number = await child.wait();
  const { stdout, returncode } = await weft.shell('echo hi', { stdout: 'pipe' }).communicate();
  void [line, code, stdout, returncode];
  const current: weft.Task | null = weft.currentTask();
  void current;
  return total + fromTimeout.length + sum + item.length;
}

void main();
