import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
