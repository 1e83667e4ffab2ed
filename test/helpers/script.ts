import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { fileURLToPath } from 'node:url';
import type { StartOptions } from '../../lib/index.js';
import { runNode } from './cli.js';

const CHILD = fileURLToPath(new URL('../fixtures/script-child.js', import.meta.url));

export type Step =
  | { ingest: unknown[]; seq: number }
  | { checkpoint: true }
  | { sleepMs: number }
  | { query: { pipeline: string; key: unknown } }
  | { kill: true };

export interface ScriptRun {
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Run test/fixtures/script-child.ts over `steps` in a child process; outputs go to `out`. */
export async function runScript(out: string, start: StartOptions, steps: Step[]): Promise<ScriptRun> {
  mkdirSync(out, { recursive: true });
  const path = join(out, `script-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ start, out, steps }));
  const run = await runNode([CHILD, path], { timeoutMs: 120_000 });
  if (run.timedOut) throw new Error(`the script ${path} hung: ${run.stderr}`);
  return run;
}

/** A pipeline's results as the child's exactly-once sink wrote them. */
export function scriptResults(out: string, pipeline: string): any[] {
  return readFileSync(join(out, `${pipeline}.ndjson`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

export function scriptSummary(out: string): { errors: unknown[]; queries: unknown[]; recovery: any; checkpoints: any } {
  return JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
}

/**
 * The crash test of a pipeline module: in a child process, ingest `batches` (exactly once), checkpoint
 * after `checkpointAt` of them, ingest up to `killAt` (in the WAL only), SIGKILL; then run all of them
 * again on the same state directory with another worker count (the rerun resends what the checkpoint does
 * not hold). Returns each pipeline's results as the exactly-once files hold them after both runs, and the
 * rerun's dead letters.
 */
export async function crashAndRerun(t: Test, module: string, pipelines: string[], batches: unknown[][],
                                    plan: { checkpointAt: number; killAt: number; workers: [number, number] }): Promise<{ results: Record<string, unknown[]>; errors: unknown[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-crash-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const steps = batches.map((ingest, seq) => ({ ingest, seq }));
  const options = { module, stateDir: join(dir, 'state'), snapshotEveryMs: 0 };
  const crashed = await runScript(dir, { ...options, workers: plan.workers[0] },
    [...steps.slice(0, plan.checkpointAt), { checkpoint: true }, ...steps.slice(plan.checkpointAt, plan.killAt), { kill: true }]);
  t.equal(crashed.signal, 'SIGKILL', `the first run was killed ${crashed.stderr}`);
  const rerun = await runScript(dir, { ...options, workers: plan.workers[1] }, steps);
  t.equal(rerun.code, 0, `the rerun ended well ${rerun.stderr}`);
  const summary = scriptSummary(dir);
  t.ok(summary.recovery.checkpoint !== null, 'the rerun restored the checkpoint');
  return { results: Object.fromEntries(pipelines.map((name) => [name, scriptResults(dir, name)])), errors: summary.errors };
}
