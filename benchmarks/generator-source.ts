/**
 * The Nexmark generator as a parallel source against ingest(): tumbling-bids on 1 M generated events, with
 * the generator on the calling thread (ingest() of batches, as the suite's workloads run) or on 1 or 2
 * source threads (engine.ingestNexmark()). Events/s and CPU seconds of the process, medians; the
 * configurations take turns within each run.
 */
import { start } from '../lib/index.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import { BATCH, measurePlain, moduleOf } from './measure.js';
import { fmt, median } from './stats.js';

const CONFIGS = [
  { name: 'ingest() of generated batches (the generator on the calling thread)', sourceThreads: 0 },
  { name: 'ingestNexmark(), 1 source thread', sourceThreads: 1 },
  { name: 'ingestNexmark(), 2 source threads', sourceThreads: 2 },
] as const;

export interface GeneratorSourceReport {
  events: number;
  workers: number;
  rows: Array<{ name: string; eventsPerSecond: number[]; cpuSeconds: number[]; results: number }>;
  /** The plain single-threaded loop on the same workload, in the same runs. */
  plain: { eventsPerSecond: number[]; results: number };
}

async function once(sourceThreads: number, events: number, workers: number): Promise<{ eventsPerSecond: number; cpuSeconds: number; results: number }> {
  // Source threads start with the actors, as keyflow demo starts them: their start-up is start()'s.
  const engine = await start({ module: moduleOf('tumbling-bids'), workers, sourceThreads, prestartSourceThreads: sourceThreads > 0 });
  let results = 0;
  engine.results('tumbling-bids').on('data', () => results++);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (sourceThreads === 0) {
    const gen = new NexmarkGenerator({ seed: 1 });
    for (let sent = 0; sent < events; sent += BATCH) await engine.ingest(gen.batch(Math.min(BATCH, events - sent)));
  } else {
    await engine.ingestNexmark({ events, seed: 1 });
  }
  await engine.stop();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { eventsPerSecond: events / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, results };
}

export async function generatorSourceBench(events: number, runs: number, workers: number): Promise<GeneratorSourceReport> {
  const rows = CONFIGS.map((c) => ({ name: c.name, eventsPerSecond: [] as number[], cpuSeconds: [] as number[], results: 0 }));
  const plain = { eventsPerSecond: [] as number[], results: 0 };
  for (let r = 0; r < runs; r++) {
    const p = await measurePlain('tumbling-bids', events);
    plain.eventsPerSecond.push(p.eventsPerSecond);
    plain.results = p.results;
    // Alternate the order from run to run: in one process, whatever runs first pays for the warm-up.
    const order = r % 2 === 0 ? [...CONFIGS.keys()] : [...CONFIGS.keys()].reverse();
    for (const i of order) {
      const m = await once(CONFIGS[i].sourceThreads, events, workers);
      rows[i].eventsPerSecond.push(m.eventsPerSecond);
      rows[i].cpuSeconds.push(m.cpuSeconds);
      rows[i].results = m.results;
      process.stderr.write(`  generator source: run ${r + 1}/${runs}, ${CONFIGS[i].name}: ${fmt(m.eventsPerSecond)} events/s\n`);
    }
  }
  if (rows.some((row) => row.results !== plain.results)) {
    throw new Error(`generator source: the configurations gave different numbers of results: ${rows.map((row) => `${row.name}: ${row.results}`).join(', ')}`);
  }
  return { events, workers, rows, plain };
}

export function generatorSourceTable(report: GeneratorSourceReport, runs: number): string {
  const base = median(report.rows[0].eventsPerSecond);
  const plain = median(report.plain.eventsPerSecond);
  return [
    `The generator as a parallel source: tumbling-bids on ${fmt(report.events)} generated events, ${report.workers} actor(s), median of ${runs}; the plain loop ${fmt(plain)} events/s in the same runs:`,
    '',
    '| generator | events/s | vs ingest() | vs plain loop | CPU (all threads) | results |',
    '|---|---|---|---|---|---|',
    ...report.rows.map((row) => {
      const eps = median(row.eventsPerSecond);
      return `| ${row.name} | ${fmt(eps)} | ${(eps / base).toFixed(2)}× | ${(eps / plain).toFixed(2)}× | ${median(row.cpuSeconds).toFixed(2)} s | ${fmt(row.results)} |`;
    }),
  ].join('\n');
}
