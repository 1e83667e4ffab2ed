import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../fixtures/crash-child.js', import.meta.url));

export interface ChildRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run the crash child; kill it with SIGKILL after `killAfterMs` (if given). */
export function runChild(args: string[], killAfterMs?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The results file as (key|windowStart) → result, failing on any duplicate. */
export function readResults(path: string): { byWindow: Map<string, { n: number; total: number }>; duplicates: string[]; lines: number } {
  const byWindow = new Map<string, { n: number; total: number }>();
  const duplicates: string[] = [];
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  for (const line of lines) {
    const r = JSON.parse(line) as { key: string; windowStart: number; n: number; total: number };
    const id = `${r.key}|${r.windowStart}`;
    if (byWindow.has(id)) duplicates.push(id);
    byWindow.set(id, { n: r.n, total: r.total });
  }
  return { byWindow, duplicates, lines: lines.length };
}
