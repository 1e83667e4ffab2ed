/**
 * npm run bench: keyflow against baselines measured in the same run, on the same events.
 *
 *   npm run bench                 # full run: 2 M events, 5 runs per measurement
 *   npm run bench -- --quick      # 300 k events, 3 runs (recovery: 100 k keys only)
 *
 * Prints a markdown table (medians of the runs, and ratios to the plain single-threaded loop) and
 * writes the same numbers as JSON to bench-results/latest.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { start } from '../lib/index.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { plainLoop } from './baselines/plain-loop.js';
import { durabilityBench, durabilityTable } from './durability.js';
import { fmt, median } from './stats.js';

const JOB = fileURLToPath(new URL('../examples/bids-per-auction.js', import.meta.url));
const BATCH = 10_000;

interface Measurement { name: string; threads: string; eventsPerSecond: number[]; results: number; peakRssMb: number }

/** One run: how many results it produced and how long the measured part took. */
type Run = () => Promise<{ results: number; seconds: number }>;

async function measure(name: string, threads: string, runs: number, once: Run): Promise<Measurement> {
  const rates: number[] = [];
  let results = 0;
  for (let i = 0; i < runs; i++) {
    const run = await once();
    results = run.results;
    rates.push(EVENTS / run.seconds);
    process.stderr.write(`  ${name}: run ${i + 1}/${runs}: ${fmt(rates[i])} events/s\n`);
  }
  return { name, threads, eventsPerSecond: rates, results, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

async function keyflowRun(events: NexmarkEvent[], workers: number): Promise<{ results: number; seconds: number }> {
  // Startup (spawning the actor threads) is outside the measurement, as the loop has none.
  const engine = await start({ module: JOB, workers });
  let results = 0;
  engine.results('bids-per-auction').on('data', () => results++);
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += BATCH) await engine.ingest(events.slice(i, i + BATCH));
  await engine.stop();
  return { results, seconds: (performance.now() - t0) / 1000 };
}

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, events: { type: 'string' }, runs: { type: 'string' } } });
const EVENTS = Number(values.events ?? (values.quick ? 300_000 : 2_000_000));
const RUNS = Number(values.runs ?? (values.quick ? 3 : 5));

process.stderr.write(`generating ${fmt(EVENTS)} Nexmark events…\n`);
const events = new NexmarkGenerator({ seed: 1 }).batch(EVENTS);

const measurements: Measurement[] = [];
measurements.push(await measure('plain single-threaded loop', '1', RUNS, async () => {
  let results = 0;
  const t0 = performance.now();
  plainLoop(events, () => results++);
  return { results, seconds: (performance.now() - t0) / 1000 };
}));
const cores = availableParallelism();
for (const workers of [...new Set([1, Math.max(1, cores - 1), cores])]) {
  measurements.push(await measure(`keyflow, ${workers} worker(s)`, `1 + ${workers}`, RUNS, () => keyflowRun(events, workers)));
}

const baseline = median(measurements[0].eventsPerSecond);
const rows = measurements.map((m) => {
  const med = median(m.eventsPerSecond);
  return `| ${m.name} | ${m.threads} | ${fmt(med)} | ${fmt(Math.min(...m.eventsPerSecond))}–${fmt(Math.max(...m.eventsPerSecond))} | ${(med / baseline).toFixed(2)}× | ${fmt(m.results)} |`;
});
const table = [
  `Bids per auction, tumbling 10 s windows (count, sum, max): ${fmt(EVENTS)} Nexmark events, median of ${RUNS} runs, ${cores} cores, Node ${process.version}`,
  '',
  '| implementation | threads | events/s (median) | range | vs plain loop | results |',
  '|---|---|---|---|---|---|',
  ...rows,
].join('\n');
process.stdout.write(table + '\n');
process.stdout.write(`\npeak RSS of this process: ${fmt(process.resourceUsage().maxRSS / 1024)} MB\n\n`);

const durability = await durabilityBench(events, values.quick ? 1 : 3, Math.max(1, cores - 1), values.quick ? [100_000] : [100_000, 1_000_000]);
process.stdout.write(durabilityTable(durability, EVENTS, values.quick ? 1 : 3) + '\n');

const results = fileURLToPath(new URL('../../bench-results/', import.meta.url));
await mkdir(results, { recursive: true });
await writeFile(`${results}latest.json`, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores, events: EVENTS, runs: RUNS, measurements, durability }, null, 2));
