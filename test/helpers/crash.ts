import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../fixtures/crash-child.js', import.meta.url));

export interface ChildRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * When to SIGKILL the child: once its acknowledgement log has grown by `acks` lines (0: at once), plus
 * `jitterMs`. Killing by progress rather than by the clock puts kills at the same kind of moment on a
 * fast or a loaded machine.
 */
export interface KillPlan {
  ackLog: string;
  acks: number;
  jitterMs: number;
}

/** Run the crash child, killing it with SIGKILL as planned (if a plan is given). */
export function runChild(args: string[], kill?: KillPlan, env: Record<string, string> = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let poll: NodeJS.Timeout | null = null;
    if (kill) {
      const target = lineCount(kill.ackLog) + kill.acks;
      poll = setInterval(() => {
        if (lineCount(kill.ackLog) < target) return;
        clearInterval(poll!);
        setTimeout(() => child.kill('SIGKILL'), kill.jitterMs);
      }, 2);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (poll) clearInterval(poll);
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
