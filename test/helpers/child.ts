import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI as built (`node dist/lib/cli/main.js`). */
export const CLI = fileURLToPath(new URL('../../lib/cli/main.js', import.meta.url));

export interface Finished { code: number | null; stdout: string; stderr: string; ms: number; timedOut: boolean }

/**
 * Run `node …args` to its end, feeding it `stdin`. A child still running after `timeoutMs` is killed
 * and reported as timedOut: a hang fails the test with a message, it does not hang the suite.
 */
export function runNode(args: string[], { stdin = '', timeoutMs = 60_000, env = {} }: { stdin?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0, timedOut });
    });
    child.stdin.on('error', () => {}); // a child that exits before reading all of stdin
    child.stdin.end(stdin);
  });
}
