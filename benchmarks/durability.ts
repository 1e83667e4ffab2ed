/**
 * Durability measurements for npm run bench: throughput with durability none / batch / sync, recovery
 * time after a SIGKILL for 100 k and 1 M keys of state, and the longest ingestion pause a snapshot causes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from '../lib/index.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { fmt, median, scratch } from './stats.js';

const JOB = fileURLToPath(new URL('../examples/bids-per-auction.js', import.meta.url));
const STATE_JOB = fileURLToPath(new URL('./workloads/keyed-state.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./recovery-child.js', import.meta.url));
const BATCH = 10_000;

export interface DurabilityReport {
  throughput: Array<{ durability: string; eventsPerSecond: number[]; longestPauseMs: number }>;
  recovery: Array<{ keys: number; recoverMs: number[]; longestPauseMs: number }>;
}


/** The modes measured: each ingest() awaited before the next, and then `batch` with two calls in flight. */
const MODES = [
  { durability: 'none', inFlight: 1 },
  { durability: 'batch', inFlight: 1 },
  { durability: 'sync', inFlight: 1 },
  { durability: 'batch', inFlight: 2 },
] as const;

const label = (m: (typeof MODES)[number]) => (m.inFlight === 1 ? m.durability : `${m.durability}, ${m.inFlight} ingest() calls in flight`);

/**
 * Ingest `events` in batches. `inFlight` 2: the next batch is sent before the last one's call resolves, so
 * it is routed while the last one's group commit runs, as a pipelining producer does.
 */
async function throughput(events: NexmarkEvent[], { durability, inFlight }: (typeof MODES)[number], workers: number): Promise<{ rate: number; pause: number }> {
  return scratch(async (dir) => {
    const engine = await start({ module: JOB, workers, stateDir: join(dir, 'state'), durability, snapshotEveryMs: 1_000 });
    engine.results('bids-per-auction').on('data', () => {});
    const t0 = performance.now();
    const calls: Array<Promise<void>> = [];
    for (let i = 0; i < events.length; i += BATCH) {
      calls.push(engine.ingest(events.slice(i, i + BATCH)));
      // Calls resolve in call order: waiting for the oldest is waiting for the first to resolve.
      if (calls.length >= inFlight) await calls.shift();
    }
    await Promise.all(calls);
    const summary = await engine.stop();
    return { rate: events.length / ((performance.now() - t0) / 1000), pause: summary.checkpoints.longestPauseMs };
  });
}

function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (_code, signal) => (signal === 'SIGKILL' ? resolve(out) : reject(new Error('recovery child did not crash as planned'))));
  });
}

async function recovery(keys: number, workers: number): Promise<{ ms: number; pause: number }> {
  return scratch(async (dir) => {
    const stateDir = join(dir, 'state');
    const built = JSON.parse(await runChild([stateDir, String(keys), String(workers)])) as { longestPauseMs: number };
    const t0 = performance.now();
    const engine = await start({ module: STATE_JOB, workers, stateDir, snapshotEveryMs: 0 });
    await engine.recover();
    const ms = performance.now() - t0;
    await engine.stop();
    return { ms, pause: built.longestPauseMs };
  });
}

export async function durabilityBench(events: NexmarkEvent[], runs: number, workers: number, keyCounts: number[]): Promise<DurabilityReport> {
  const report: DurabilityReport = { throughput: [], recovery: [] };
  for (const mode of MODES) {
    const rates: number[] = [];
    let pause = 0;
    for (let r = 0; r < runs; r++) {
      const m = await throughput(events, mode, workers);
      rates.push(m.rate);
      pause = Math.max(pause, m.pause);
      process.stderr.write(`  durability ${label(mode)}: run ${r + 1}/${runs}: ${fmt(m.rate)} events/s\n`);
    }
    report.throughput.push({ durability: label(mode), eventsPerSecond: rates, longestPauseMs: pause });
  }
  for (const keys of keyCounts) {
    const times: number[] = [];
    let pause = 0;
    for (let r = 0; r < runs; r++) {
      const m = await recovery(keys, workers);
      times.push(m.ms);
      pause = Math.max(pause, m.pause);
      process.stderr.write(`  recovery, ${fmt(keys)} keys: run ${r + 1}/${runs}: ${m.ms.toFixed(0)} ms\n`);
    }
    report.recovery.push({ keys, recoverMs: times, longestPauseMs: pause });
  }
  return report;
}

export function durabilityTable(r: DurabilityReport, events: number, runs: number): string {
  const none = median(r.throughput[0].eventsPerSecond);
  return [
    `Durability (bids per auction, ${fmt(events)} events, checkpoint every second, median of ${runs}):`,
    '',
    '| durability | events/s (median) | vs none | longest snapshot pause |',
    '|---|---|---|---|',
    ...r.throughput.map((x) => `| ${x.durability} | ${fmt(median(x.eventsPerSecond))} | ${(median(x.eventsPerSecond) / none).toFixed(2)}× | ${x.longestPauseMs.toFixed(1)} ms |`),
    '',
    `Recovery after SIGKILL (one open window per key, then a WAL tail of 10 % more events; median of ${runs}):`,
    '',
    '| keys | recovery time (median) | snapshot pause at that size |',
    '|---|---|---|',
    ...r.recovery.map((x) => `| ${fmt(x.keys)} | ${fmt(median(x.recoverMs))} ms | ${x.longestPauseMs.toFixed(0)} ms |`),
  ].join('\n');
}
