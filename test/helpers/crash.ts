import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../fixtures/crash-child.js', import.meta.url));

export interface ChildRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run the crash child; kill it with SIGKILL after `killAfterMs` (if given). */
export function runChild(args: string[], killAfterMs?: number, env: Record<string, string> = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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

/** Compare a results file with the exact expectation: duplicates, and windows missing or wrong. */
export function compareResults(path: string, expected: Map<string, { n: number; total: number }>): { duplicates: string[]; missing: number; wrong: number; extra: number } {
  const got = readResults(path);
  let missing = 0;
  let wrong = 0;
  for (const [id, want] of expected) {
    const have = got.byWindow.get(id);
    if (!have) missing++;
    else if (have.n !== want.n || have.total !== want.total) wrong++;
  }
  return { duplicates: got.duplicates, missing, wrong, extra: [...got.byWindow.keys()].filter((id) => !expected.has(id)).length };
}

/** Lines in a file (0 if it does not exist). */
export function lineCount(path: string): number {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** A small deterministic PRNG for kill times, so a failing run can be reproduced. */
export function killTimes(seed: number): () => number {
  let s = seed;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
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
