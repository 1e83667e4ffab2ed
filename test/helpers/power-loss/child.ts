/** Running the power-loss child (test/fixtures/power-loss-child.ts), recorded or not, and reading its trace. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeCommand } from '../node-child.js';
import type { TraceOp } from './fs-recorder.js';

const RECORDER = fileURLToPath(new URL('./fs-recorder.js', import.meta.url));
const CHILD = fileURLToPath(new URL('../../fixtures/power-loss-child.js', import.meta.url));

/** A child still running after this long has hung: it is killed and the test fails saying so. */
const CHILD_TIMEOUT_MS = 240_000;

/** Run the power-loss child (under the recorder when `recorded`). */
export function run(args: string[], env: Record<string, string> = {}, recorded = true): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(...nodeCommand([...(recorded ? ['--import', RECORDER] : []), CHILD, ...args]), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const hang = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the power-loss child (${args.join(' ')}) still ran after ${CHILD_TIMEOUT_MS / 1000} s: killed. stderr:\n${stderr}`));
    }, CHILD_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(hang);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A run of `workers` killed with SIGKILL once event `after` was acknowledged, leaving its state in `root`. */
export async function killedRun(root: string, events: number, workers: number, after: number, env: Record<string, string> = {}): Promise<void> {
  const r = await run(['record', root, String(events), String(workers), 'batch'], { ...env, KILL_AFTER: String(after) }, false);
  if (r.signal !== 'SIGKILL') throw new Error(`the run was not killed: ${r.code} ${r.stderr}`);
}

/** The calls a recorded run made, in order. */
export function readTrace(path: string): TraceOp[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceOp);
}
