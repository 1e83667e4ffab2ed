/**
 * State lifecycle measurements for npm run bench:
 *
 * - TTL: an engine fed an endless stream of new keys (one event each, 1 ms of event time apart), with and
 *   without a 10 s TTL on the state it keeps per key. Samples live keys (the checkpoint's count) and the
 *   process RSS as input goes on; the chart goes to the bench output folder as ttl-memory.svg.
 * - State backends: the same state-heavy workload with keyed state in memory and in LMDB (with a small
 *   cache, so most keys live in the database): events/s and peak RSS, medians of the runs.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from '../lib/index.js';
import { lineChart } from './svg-chart.js';
import { TTL_MS } from './workloads/fresh-keys.js';
import { fmt, median, scratch } from './stats.js';

const FRESH = fileURLToPath(new URL('./workloads/fresh-keys.js', import.meta.url));
const STATE_JOB = fileURLToPath(new URL('./workloads/keyed-state.js', import.meta.url));
const BATCH = 10_000;

export interface TtlSample { events: number; keys: number; rssMb: number }
export interface LifecycleReport {
  ttl: { ttlMs: number; samples: Record<'with-ttl' | 'no-ttl', TtlSample[]>; chart: string };
  backends: Array<{ backend: 'memory' | 'lmdb'; keys: number; eventsPerSecond: number[]; peakRssMb: number[] }>;
}


const rssMb = () => process.memoryUsage().rss / 2 ** 20;

async function freshKeys(name: 'with-ttl' | 'no-ttl', events: number, workers: number): Promise<TtlSample[]> {
  return scratch(async (dir) => {
    const engine = await start({ module: FRESH, pipelines: [name], workers, stateDir: dir, durability: 'none', snapshotEveryMs: 0 });
    const samples: TtlSample[] = [];
    const every = Math.max(BATCH, Math.floor(events / 20 / BATCH) * BATCH);
    for (let i = 0; i < events; i += BATCH) {
      await engine.ingest(Array.from({ length: BATCH }, (_, j) => ({ user: `u${i + j}`, t: i + j })));
      if ((i + BATCH) % every === 0) {
        await engine.checkpoint();
        samples.push({ events: i + BATCH, keys: engine.checkpointStats().lastKeys, rssMb: rssMb() });
      }
    }
    await engine.stop();
    return samples;
  });
}

async function backendRun(backend: 'memory' | 'lmdb', keys: number, workers: number): Promise<{ rate: number; rss: number }> {
  return scratch(async (dir) => {
    const engine = await start({ module: STATE_JOB, workers, stateDir: dir, durability: 'none', snapshotEveryMs: 0, stateBackend: backend, stateCacheKeys: 10_000 });
    engine.results('per-key').on('data', () => {});
    let peak = rssMb();
    const t0 = performance.now();
    // Every key twice: once to create its state, once to read and update it (from LMDB, mostly).
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < keys; i += BATCH) {
        await engine.ingest(Array.from({ length: Math.min(BATCH, keys - i) }, (_, j) => ({ id: i + j, t: round, v: 1 })));
        peak = Math.max(peak, rssMb());
      }
    }
    const rate = (2 * keys) / ((performance.now() - t0) / 1000);
    await engine.stop();
    return { rate, rss: peak };
  });
}

export async function lifecycleBench(outDir: string, events: number, backendKeys: number, runs: number, workers: number): Promise<LifecycleReport> {
  const samples = { 'with-ttl': await freshKeys('with-ttl', events, workers), 'no-ttl': await freshKeys('no-ttl', events, workers) };
  const chart = join(outDir, 'ttl-memory.svg');
  await writeFile(chart, lineChart({
    title: `An endless stream of new keys: state with a ${TTL_MS / 1000} s TTL stays flat`,
    x: { label: 'events ingested', values: samples['with-ttl'].map((s) => s.events) },
    panels: [
      { label: 'live keys in state', series: Object.entries(samples).map(([name, s]) => ({ name, values: s.map((x) => x.keys) })) },
      { label: 'process RSS (MB)', series: Object.entries(samples).map(([name, s]) => ({ name, values: s.map((x) => x.rssMb) })) },
    ],
  }));
  const backends: LifecycleReport['backends'] = [];
  for (const backend of ['memory', 'lmdb'] as const) {
    const measured = [];
    for (let r = 0; r < runs; r++) measured.push(await backendRun(backend, backendKeys, workers));
    backends.push({ backend, keys: backendKeys, eventsPerSecond: measured.map((m) => m.rate), peakRssMb: measured.map((m) => m.rss) });
  }
  return { ttl: { ttlMs: TTL_MS, samples, chart }, backends };
}

export function lifecycleTable(report: LifecycleReport, runs: number): string {
  const last = (name: 'with-ttl' | 'no-ttl') => report.ttl.samples[name].at(-1)!;
  const mid = (name: 'with-ttl' | 'no-ttl') => report.ttl.samples[name][Math.floor(report.ttl.samples[name].length / 2)];
  const memory = report.backends[0];
  const lines = [
    `State TTL: new keys only, ${report.ttl.ttlMs / 1000} s TTL in event time (chart: ${report.ttl.chart}).`,
    '',
    '| state | live keys at half the input | at the end | RSS at half | at the end |',
    '|---|---|---|---|---|',
    ...(['with-ttl', 'no-ttl'] as const).map((n) => `| ${n} | ${fmt(mid(n).keys)} | ${fmt(last(n).keys)} | ${fmt(mid(n).rssMb)} MB | ${fmt(last(n).rssMb)} MB |`),
    '',
    `State backends: ${fmt(memory.keys)} keys, each updated twice; LMDB keeps 10 000 keys per actor in memory; median of ${runs}.`,
    '',
    '| backend | events/s | vs memory | peak RSS |',
    '|---|---|---|---|',
    ...report.backends.map((b) => `| ${b.backend} | ${fmt(median(b.eventsPerSecond))} | ${(median(b.eventsPerSecond) / median(memory.eventsPerSecond)).toFixed(2)}× | ${fmt(median(b.peakRssMb))} MB |`),
  ];
  return lines.join('\n') + '\n';
}
