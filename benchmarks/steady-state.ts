/**
 * Per core in steady state: keyflow with durability batch on 2 × N generated events in one engine, counting
 * only the second N. By then the actor thread has compiled its hot code, which a whole N-event run (the
 * suite's table) pays for in every run, fresh threads being fresh isolates; and the window holds no
 * checkpoint (periodic ones are off) and none of the end of input's work (stop(): the last windows, the final
 * checkpoint). Flink's Nexmark figures are as warm (100 M events a query), with a checkpoint every 3
 * minutes. Both ends of the window are where an ingest() returns: what the actor still had to apply at the
 * start is counted, and what it has left at the end is not.
 */
import type { WorkloadName } from './baselines/plain.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import { BATCH, withKeyflow } from './measure.js';
import { fmt, median } from './stats.js';

export interface SteadyStateRow {
  workload: WorkloadName;
  /** The target: per core at least this. */
  goal: number;
  /** Per core over a whole N-event run (the suite's table, median). */
  whole: number;
  /** Per core over the second N of each 2N-event run. */
  steady: number[];
}

/** Events/s per CPU second of the whole process over events [events, 2 × events) of one engine's run. */
function secondHalfPerCore(workload: WorkloadName, events: number, workers: number): Promise<number> {
  return withKeyflow(workload, true, { workers, snapshotEveryMs: 0, snapshotEveryBytes: Number.MAX_SAFE_INTEGER }, async (engine) => {
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
  });
}

export async function steadyStateBench(workloads: Array<{ name: WorkloadName; goal: number; whole: number }>, events: number, runs: number, workers: number): Promise<SteadyStateRow[]> {
  const rows: SteadyStateRow[] = [];
  for (const { name, goal, whole } of workloads) {
    const row: SteadyStateRow = { workload: name, goal, whole, steady: [] };
    for (let r = 0; r < runs; r++) {
      row.steady.push(await secondHalfPerCore(name, events, workers));
      process.stderr.write(`  steady state / ${name}: run ${r + 1}/${runs}: ${fmt(row.steady[r])} events/s per core\n`);
    }
    rows.push(row);
  }
  return rows;
}

/** `outlasting`: workloads left out, whose windows all outlast such a run (see run.ts). */
export function steadyStateTable(rows: SteadyStateRow[], events: number, runs: number, outlasting: WorkloadName[]): string {
  const lines = [
    `Steady state: keyflow (durability batch), per core over events ${fmt(events)}–${fmt(2 * events)} of a ${fmt(2 * events)}-event run (threads warm; no checkpoint and none of stop()'s work in it), median of ${runs}, beside the whole ${fmt(events)}-event runs of the table above (which pay both):`,
    '',
    '| workload | target per core | whole run | of target | steady state | of target |',
    '|---|---|---|---|---|---|',
  ];
  for (const { workload, goal, whole, steady } of rows) {
    const s = median(steady);
    lines.push(`| ${workload} | ${fmt(goal)} | ${fmt(whole)} | ${((whole / goal) * 100).toFixed(0)} % | ${fmt(s)} | ${((s / goal) * 100).toFixed(0)} % |`);
  }
  if (outlasting.length > 0) lines.push('', `Not measured so: ${outlasting.join(', ')}, whose windows (auctions, open 10 minutes of event time) would all fire at the end of such a run, in stop().`);
  return lines.join('\n');
}
