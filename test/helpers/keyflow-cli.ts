/** Runs the real `keyflow` CLI as a child process, killing it (and saying so) if it hangs. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../lib/cli/main.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when the run was killed after `timeoutMs`: it hung. */
  hung: boolean;
}

/** `keyflow ...args` with `stdin` (text or bytes) on its standard input. */
export function keyflow(args: string[], stdin: string | Uint8Array = '', timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {}); // a child that exits early closes its stdin
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, hung });
    });
    child.stdin.end(stdin);
  });
}

/** The non-empty lines of an NDJSON text, parsed. */
export function parseLines(text: string): any[] {
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}
