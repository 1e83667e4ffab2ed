/** Running the real CLI as a child process, and waiting on what it reports, for the CLI tests. */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../lib/cli/main.js', import.meta.url));

export interface Ran { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** A running CLI whose stdin stays open until the test ends it; `done` resolves when it exits. */
export function spawnKeyflow(args: string[]): { child: ChildProcessWithoutNullStreams; done: Promise<Ran> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/**
 * Run `keyflow …args` to its end with `stdin` as its input. A run that outlives `ms` is killed (SIGKILL) and
 * reported with a note on stderr, so a hang fails the test instead of stalling it.
 */
export async function keyflow(args: string[], stdin = '', ms = 60_000): Promise<Ran> {
  const { child, done } = spawnKeyflow(args);
  child.stdin.on('error', () => {});
  child.stdin.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const ran = await done;
  clearTimeout(timer);
  return ran.signal === 'SIGKILL' ? { ...ran, code: null, stderr: `[test] keyflow ${args.join(' ')} still running after ${ms} ms: killed\n${ran.stderr}` } : ran;
}

/** A running `keyflow …args` whose stdin the test writes to and keeps open. */
export interface Live {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function keyflowLive(args: string[]): Live {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => stderr, exited };
}

export const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);

/** Poll `probe` until it returns a value; give up after `ms` with a message naming what was awaited. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Wait for a child to exit, killing it (and failing) if it has not after `ms`. */
export async function exitWithin(live: Live, ms = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { live.child.kill('SIGKILL'); reject(new Error(`keyflow did not exit within ${ms} ms; stderr:\n${live.stderr()}`)); }, ms);
  });
  try {
    return await Promise.race([live.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The value of one sample of a Prometheus text exposition (undefined if absent). */
export function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** The base URL a `keyflow run --serve 0` announced on stderr. */
export const servedAt = (live: Live) => until('the server address', () => /serving (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(live.stderr())?.[1]);

/** Wait until a served run has ingested `n` events. */
export const ingested = (base: string, n: number) => until(`${n} events ingested`, async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  return sample(text, 'keyflow_events_in_total') === n ? true : undefined;
});
