/**
 * Per core in steady state, as Flink's Nexmark figures are measured (100 M events a query, in a JVM that has
 * long compiled its code, a checkpoint every 3 minutes): keyflow with durability batch on 2 × N generated
 * events in one engine, counting only the second N. By then the actor thread has compiled its hot code, which
 * a whole N-event run (the suite's table) pays for in every run, fresh threads being fresh isolates; and the
 * run's final checkpoint (stop()) falls after it. Both windows begin and end as ingest() returns, so what an
 * actor still had to apply at the start of the second N is counted, and what it has left at its end is not.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../lib/index.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { WorkloadName } from './baselines/plain.js';
import { BATCH, moduleOf } from './measure.js';
import { fmt, median } from './stats.js';

export interface SteadyStateRow {
  workload: WorkloadName;
  /** The target: per core at least this. */
  goal: number;
  /** Per core over a whole N-event run (the suite's table, median). */
  cold: number;
  /** Per core over the second N of each 2N-event run. */
  steady: number[];
}

/** Events/s per CPU second of the whole process over events [events, 2 × events) of one engine's run. */
async function secondHalfPerCore(workload: WorkloadName, events: number, workers: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-bench-'));
  try {
    const engine = await start({ module: moduleOf(workload), workers, stateDir: dir, snapshotEveryMs: 10_000 });
    engine.results(workload).on('data', () => {});
    const gen = new NexmarkGenerator({ seed: 1 });
    const ingest = async () => {
      for (let sent = 0; sent < events; sent += BATCH) await engine.ingest(gen.batch(Math.min(BATCH, events - sent)));
    };
    await ingest();
    const cpu0 = process.cpuUsage();
    await ingest();
    const cpu = process.cpuUsage(cpu0);
    await engine.stop();
    return events / ((cpu.user + cpu.system) / 1e6);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function steadyStateBench(workloads: Array<{ name: WorkloadName; goal: number; cold: number }>, events: number, runs: number, workers: number): Promise<SteadyStateRow[]> {
  const rows: SteadyStateRow[] = [];
  for (const { name, goal, cold } of workloads) {
    const row: SteadyStateRow = { workload: name, goal, cold, steady: [] };
    for (let r = 0; r < runs; r++) {
      row.steady.push(await secondHalfPerCore(name, events, workers));
      process.stderr.write(`  steady state / ${name}: run ${r + 1}/${runs}: ${fmt(row.steady[r])} events/s per core\n`);
    }
    rows.push(row);
  }
  return rows;
}

/** `outlasting`: workloads left out, whose windows all outlast a run (see run.ts). */
export function steadyStateTable(rows: SteadyStateRow[], events: number, runs: number, outlasting: string[]): string {
  const lines = [
    `Steady state, as Flink's figures are measured: keyflow (durability batch), per core over events ${fmt(events)}–${fmt(2 * events)} of a ${fmt(2 * events)}-event run (the threads warm, the final checkpoint after it), median of ${runs}, next to the whole ${fmt(events)}-event runs of the table above:`,
    '',
    '| workload | target per core | whole run | of target | steady state | of target |',
    '|---|---|---|---|---|---|',
  ];
  for (const { workload, goal, cold, steady } of rows) {
    const s = median(steady);
    lines.push(`| ${workload} | ${fmt(goal)} | ${fmt(cold)} | ${((cold / goal) * 100).toFixed(0)} % | ${fmt(s)} | ${((s / goal) * 100).toFixed(0)} % |`);
  }
  if (outlasting.length > 0) lines.push('', `Not measured so: ${outlasting.join(', ')}, whose windows (auctions open 10 minutes of event time) all fire at the end of such a run, in stop().`);
  return lines.join('\n');
}
