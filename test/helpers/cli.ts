/** Running the real CLI as a child process, and waiting on what it reports, for the CLI tests. */
// Child processes run without the test runner's module hooks (see start.ts).
import './start.js';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { nodeCommand } from './node-child.js';
import { fileURLToPath } from 'node:url';
import { until } from './wait.js';

export const CLI = fileURLToPath(new URL('../../lib/cli/main.js', import.meta.url));

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The child outlived its timeout and was killed (SIGKILL): it hung. */
  timedOut: boolean;
}

/** A running child whose stdin stays open until the test ends it; `done` resolves when it exits. */
export interface Live {
  child: ChildProcessWithoutNullStreams;
  /** What it has written to stderr so far. */
  stderr: () => string;
  done: Promise<Ran>;
}

/** `node …args`, stdin left open; killed (and reported as timedOut) if it runs past `timeoutMs`. */
export function spawnNode(args: string[], { timeoutMs = 60_000, env = {} }: { timeoutMs?: number; env?: Record<string, string> } = {}): Live {
  const child = spawn(...nodeCommand(args), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  // Decoded as UTF-8 streams: a pipe may split a character between two reads.
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (stdout += d));
  child.stderr.on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {}); // a child that exits before reading all of stdin
  const done = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr: timedOut ? `[test] still running after ${timeoutMs} ms: killed\n${stderr}` : stderr, timedOut });
    });
  });
  return { child, stderr: () => stderr, done };
}

/** `node …args` to its end, with `stdin` as its input (see spawnNode). */
export function runNode(args: string[], { stdin = '', ...options }: { stdin?: string | Uint8Array; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Ran> {
  const live = spawnNode(args, options);
  live.child.stdin.end(stdin);
  return live.done;
}

/** A running `keyflow …args` whose stdin the test writes to and keeps open. */
export const spawnKeyflow = (args: string[], timeoutMs = 120_000): Live => spawnNode([CLI, ...args], { timeoutMs });

/** `keyflow …args` to its end, with `stdin` as its input; a hang is killed after `timeoutMs` and fails the test. */
export const keyflow = (args: string[], stdin: string | Uint8Array = '', timeoutMs = 60_000): Promise<Ran> => runNode([CLI, ...args], { stdin, timeoutMs });

export const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);

/** The non-empty lines of an NDJSON text, parsed. */
export const parseLines = (text: string): any[] => lines(text).map((l) => JSON.parse(l));

/** Wait for a child to exit, killing it (and failing) if it has not after `ms`. */
export async function exitWithin(live: Live, ms = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { live.child.kill('SIGKILL'); reject(new Error(`keyflow did not exit within ${ms} ms; stderr:\n${live.stderr()}`)); }, ms);
  });
  try {
    const { code, signal } = await Promise.race([live.done, timeout]);
    return { code, signal };
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
