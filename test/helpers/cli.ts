/** Spawning the real CLI (`node dist/lib/cli/main.js`) for tests. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../lib/cli/main.js', import.meta.url));

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running CLI whose stdin stays open until the test ends it; `done` resolves when it exits. */
export function spawnKeyflow(args: string[]): { child: ChildProcessWithoutNullStreams; done: Promise<Ran> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/**
 * Run the CLI to its end with `stdin` as input. A run that outlives `timeoutMs` is killed and reported
 * with code null and a note on stderr, so a hang fails the test instead of stalling it.
 */
export async function keyflow(args: string[], stdin = '', timeoutMs = 60_000): Promise<Ran> {
  const { child, done } = spawnKeyflow(args);
  child.stdin.on('error', () => {});
  child.stdin.end(stdin);
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  const ended = await Promise.race([done, hung.then(() => null)]);
  clearTimeout(timer);
  if (ended) return ended;
  child.kill('SIGKILL');
  const killed = await done;
  return { ...killed, code: null, stderr: `${killed.stderr}\n[test] keyflow ${args.join(' ')} still running after ${timeoutMs} ms: killed` };
}

export const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);
