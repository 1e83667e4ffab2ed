import type { DeadLetter, Engine, EngineSummary, IngestOptions, StartOptions } from '../../lib/index.js';
import { start } from './start.js';

export interface Collected {
  results: Record<string, any[]>;
  late: Record<string, any[]>;
  errors: DeadLetter[];
  summary: EngineSummary;
}

/** Run a real engine over `batches` (one ingest() call each) and collect every output. */
export async function runEngine(options: StartOptions, batches: unknown[][], ingest: IngestOptions = {}): Promise<Collected> {
  const engine = await start(options);
  const out: Omit<Collected, 'summary'> = { results: {}, late: {}, errors: [] };
  for (const p of engine.pipelines) {
    // A stage that feeds another has no results of its own (they go to the next stage).
    if (p.downstream === null) engine.results(p.name).on('data', (r) => (out.results[p.name] ??= []).push(r));
    engine.late(p.name).on('data', (e) => (out.late[p.name] ??= []).push(e));
  }
  engine.errors().on('data', (e) => out.errors.push(e));
  for (const b of batches) await engine.ingest(b, ingest);
  const summary = await engine.stop();
  return { ...out, summary };
}

/** The dead letters and `pipeline`'s results, as the engine delivers them. */
export function collectOutputs(engine: Engine, pipeline: string): { errors: any[]; results: any[] } {
  const out = { errors: [] as any[], results: [] as any[] };
  engine.errors().on('data', (e) => out.errors.push(e));
  engine.results(pipeline).on('data', (r) => out.results.push(r));
  return out;
}

/** Canonical form for comparing outputs whose order across actors is not defined. */
export function sorted(records: unknown[] | undefined): string[] {
  return (records ?? []).map((r) => JSON.stringify(r)).sort();
}

export const fixture = (name: string) => new URL(`../fixtures/${name}.js`, import.meta.url).href;
