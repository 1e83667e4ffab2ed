/**
 * npm run bench: the Nexmark-style suite. Each workload runs on keyflow (durability none and batch) and on
 * two baselines measured in the same run on the same events: a plain single-threaded loop, and a naive
 * postMessage multi-thread design. Medians of several runs; ratios to the baselines; per-core throughput
 * as Nexmark counts it (events / CPU seconds of the whole process, generator included); latency p50/p99/max;
 * peak RSS; beside each Flink target, per core in steady state (the second half of a run twice as long).
 * Then the CLI path: `keyflow run` on an NDJSON file against a plain readline + JSON.parse + Map script,
 * and how busy the calling thread was (from a CPU profile); keyflow's ring against ringbuf.js; the frame
 * codec's cost per bid; the Nexmark generator as a parallel source against ingest(); a JetStream stream in
 * and out against a plain JetStream consumer loop (where nats-server can run). Then durability: throughput
 * per mode, recovery time, snapshot pauses. Then state lifecycle: memory with and without a TTL under an
 * endless stream of new keys (charted as ttl-memory.svg next to the JSON), and the memory and LMDB state
 * backends compared.
 *
 *   npm run bench                        # full: 1 M events per run, 3 runs
 *   npm run bench -- --quick             # 100 k events, 1 run: under a minute
 *   npm run bench -- --out results.json  # where the JSON goes (default bench-results/latest.json)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Progress } from '../lib/cli/progress.js';
import { AUCTION_LENGTH_MS, EVENTS_PER_SECOND, NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { WorkloadName } from './baselines/plain.js';
import { cliPathBench, cliPathTable } from './cli-path.js';
import { blackholeBench, blackholeTable } from './blackhole.js';
import { jetstreamBench, jetstreamTable } from './jetstream.js';
import { durabilityBench, durabilityTable } from './durability.js';
import { codecBenchAlone, codecTable } from './frame-codec.js';
import { generatorSourceBench, generatorSourceTable } from './generator-source.js';
import { ringBench, ringTable } from './rings.js';
import { scalingBench, scalingTable } from './scaling.js';
import { lifecycleBench, lifecycleTable } from './state-lifecycle.js';
import { steadyStateBench, steadyStateTable } from './steady-state.js';
import { defaultWorkers } from '../lib/calling-thread/options.js';
import { measureKeyflow, measurePlain, measurePostMessage, type RunResult } from './measure.js';
import { fmt, median } from './stats.js';

/**
 * Published Flink 1.13 Nexmark results per core (nexmark/nexmark README), and keyflow's target multiple of
 * them. `shuffles`: a job of several keyings, which the naive postMessage design (a key hash per event, one
 * computation per worker) cannot run. `auctionWindows`: its windows are auctions, open AUCTION_LENGTH_MS of
 * event time, so none closes before that much event time has gone by.
 */
const WORKLOADS: Array<{ name: WorkloadName; flink?: { perCore: number; times: number }; shuffles?: true; auctionWindows?: true }> = [
  { name: 'q0', flink: { perCore: 155_000, times: 3 } },
  { name: 'q1', flink: { perCore: 158_000, times: 3 } },
  { name: 'q2', flink: { perCore: 175_000, times: 3 } },
  { name: 'tumbling-bids' },
  { name: 'q5-sliding', flink: { perCore: 22_100, times: 10 } },
  { name: 'q5-hot-items', flink: { perCore: 22_100, times: 10 } },
  { name: 'q7-highest', flink: { perCore: 12_300, times: 10 } },
  { name: 'q11-sessions', flink: { perCore: 39_700, times: 10 } },
  { name: 'q3-join', flink: { perCore: 152_000, times: 10 } },
  { name: 'q8-window-join', flink: { perCore: 146_000, times: 10 } },
  { name: 'q9-winning-bids', flink: { perCore: 14_200, times: 10 }, auctionWindows: true },
  { name: 'q4-category-average', flink: { perCore: 34_000, times: 10 }, shuffles: true, auctionWindows: true },
];

/**
 * keyflow's runs of a workload, in this order: (none) then (batch), each run on the actor threads the run
 * before let go (their code compiled: see measureKeyflow; the first of (none) comes after the baselines of
 * the workload before, which end them), then (batch) on threads of its own every run.
 */
const IMPLEMENTATIONS = ['keyflow (none)', 'keyflow (batch)', 'keyflow (batch, new threads)', 'plain loop', 'postMessage'] as const;
type Impl = (typeof IMPLEMENTATIONS)[number];

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, events: { type: 'string' }, runs: { type: 'string' }, out: { type: 'string' } } });
const EVENTS = Number(values.events ?? (values.quick ? 100_000 : 1_000_000));
const RUNS = Number(values.runs ?? (values.quick ? 1 : 3));
const cores = availableParallelism();
/** keyflow's own default (start() without `workers`), which the baselines' worker count matches. */
const workers = defaultWorkers();
const out = values.out ?? fileURLToPath(new URL('../../bench-results/latest.json', import.meta.url));

function measure(impl: Impl, workload: WorkloadName): Promise<RunResult> {
  switch (impl) {
    case 'keyflow (none)': return measureKeyflow(workload, EVENTS, workers, 'none');
    case 'keyflow (batch)': return measureKeyflow(workload, EVENTS, workers, 'batch');
    case 'keyflow (batch, new threads)': return measureKeyflow(workload, EVENTS, workers, 'batch', 'stream', 'new');
    case 'plain loop': return measurePlain(workload, EVENTS);
    case 'postMessage': return measurePostMessage(workload, EVENTS, workers);
  }
}

interface Summary { eventsPerSecond: number; perCore: number; results: number; p50: number; p99: number; max: number; peakRssMb: number; stateBytesPerKey: number | null; runs: RunResult[] }

function summarize(runs: RunResult[]): Summary {
  return {
    eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)),
    perCore: median(runs.map((r) => r.perCore)),
    results: runs[0].results,
    p50: median(runs.map((r) => r.latencyMs.p50)),
    p99: median(runs.map((r) => r.latencyMs.p99)),
    max: Math.max(...runs.map((r) => r.latencyMs.max)),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    stateBytesPerKey: runs[0].stateBytesPerKey ?? null,
    runs,
  };
}

/** The implementations that run workload `w`. */
const implementationsOf = (w: (typeof WORKLOADS)[number]) => IMPLEMENTATIONS.filter((impl) => !(w.shuffles && impl === 'postMessage'));

const progress = new Progress(WORKLOADS.reduce((n, w) => n + implementationsOf(w).length, 0) * RUNS, 'runs');
const started = performance.now();
const results: Record<string, Partial<Record<Impl, Summary>>> = {};
let done = 0;
for (const w of WORKLOADS) {
  results[w.name] = {};
  for (const impl of implementationsOf(w)) {
    const runs: RunResult[] = [];
    for (let r = 0; r < RUNS; r++) {
      runs.push(await measure(impl, w.name));
      progress.update(++done, (done * EVENTS) / ((performance.now() - started) / 1000));
    }
    const summary = summarize(runs);
    results[w.name][impl] = summary;
    if (!process.stderr.isTTY) process.stderr.write(`  ${w.name} / ${impl}: ${fmt(summary.eventsPerSecond)} events/s\n`);
  }
}
progress.stop();

const lines: string[] = [
  `Nexmark-style suite: ${fmt(EVENTS)} generated events per run (generator included), median of ${RUNS}, ${cores} cores, Node ${process.version}.`,
  `keyflow runs its default of ${workers} actor(s) (one per core less one); postMessage runs ${workers} worker(s). Per core = events / CPU seconds of the process (all threads).`,
  `postMessage does not run ${WORKLOADS.filter((w) => w.shuffles).map((w) => w.name).join(', ')}: a key hash per event cannot re-key between stages.`,
  'State / key: serialized bytes per key in the final checkpoint (durability batch).',
  'keyflow (none) and (batch) run on the actor threads the run before them let go, their code compiled (but the first run of (none), on new threads); (batch, new threads) starts new threads for each run, which compile their code in it. The baselines run with no keyflow thread left in the process.',
  '',
  '| workload | implementation | events/s | per core | vs plain loop | vs postMessage | latency p50 / p99 / max (ms) | peak RSS | state / key | results |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
for (const w of WORKLOADS) {
  const r = results[w.name];
  for (const impl of implementationsOf(w)) {
    const s = r[impl]!;
    const ratio = (base: Summary | undefined) => (base === undefined ? 'n/a' : `${(s.eventsPerSecond / base.eventsPerSecond).toFixed(2)}×`);
    const perKey = s.stateBytesPerKey === null ? '' : `${fmt(s.stateBytesPerKey)} B`;
    lines.push(`| ${w.name} | ${impl} | ${fmt(s.eventsPerSecond)} | ${fmt(s.perCore)} | ${ratio(r['plain loop'])} | ${ratio(r.postMessage)} | ${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(1)} | ${fmt(s.peakRssMb)} MB | ${perKey} | ${fmt(s.results)} |`);
  }
}
/** A Flink target's per-core goal. */
const goalOf = (flink: { perCore: number; times: number }) => flink.perCore * flink.times;
const targets = WORKLOADS.map(({ name, flink }) => {
  const k = results[name]['keyflow (batch)']!;
  const fresh = results[name]['keyflow (batch, new threads)']!;
  if (flink === undefined) {
    const plain = results[name]['plain loop']!.eventsPerSecond;
    return { workload: name, goal: `events/s ≥ plain loop (${fmt(plain)})`, measured: k.eventsPerSecond, met: k.eventsPerSecond >= plain, ratio: k.eventsPerSecond / plain,
             newThreads: fresh.eventsPerSecond, newThreadsRatio: fresh.eventsPerSecond / plain };
  }
  const goal = goalOf(flink);
  return { workload: name, goal: `per core ≥ ${flink.times}× Flink ${fmt(flink.perCore)} = ${fmt(goal)}`, measured: k.perCore, met: k.perCore >= goal, ratio: k.perCore / goal,
           newThreads: fresh.perCore, newThreadsRatio: fresh.perCore / goal };
});
lines.push('', 'Targets (keyflow with durability batch; beside it, on new threads each run):', '',
  '| workload | target | measured | of target | met | new threads | of target |', '|---|---|---|---|---|---|---|');
const pct = (ratio: number) => `${(ratio * 100).toFixed(0)} %`;
for (const t of targets) lines.push(`| ${t.workload} | ${t.goal} | ${fmt(t.measured)} | ${pct(t.ratio)} | ${t.met ? 'yes' : 'no'} | ${fmt(t.newThreads)} | ${pct(t.newThreadsRatio)} |`);
process.stdout.write(lines.join('\n') + '\n\n');

// A steady state of auctions' windows needs runs whose first half alone outlasts an auction: until then none closes.
const outlasting = WORKLOADS.filter((w) => w.auctionWindows && (EVENTS / EVENTS_PER_SECOND) * 1000 < AUCTION_LENGTH_MS).map((w) => w.name);
const steadyState = await steadyStateBench(WORKLOADS.flatMap(({ name, flink }) => (flink === undefined || outlasting.includes(name) ? [] : [{
  name,
  goal: goalOf(flink),
  whole: results[name]['keyflow (batch)']!.perCore,
}])), EVENTS, RUNS, workers);
process.stdout.write(steadyStateTable(steadyState, EVENTS, RUNS, outlasting) + '\n\n');

const cliPath = await cliPathBench(EVENTS, RUNS);
process.stdout.write(cliPathTable(cliPath, RUNS) + '\n\n');
const scaling = await scalingBench(EVENTS, RUNS);
process.stdout.write(scalingTable(scaling, RUNS) + '\n\n');
const rings = await ringBench((values.quick ? 16 : 512) * 2 ** 20, RUNS);
process.stdout.write(ringTable(rings, RUNS) + '\n\n');
const frameCodec = await codecBenchAlone(values.quick ? 200 : 2_000, RUNS);
process.stdout.write(codecTable(frameCodec, RUNS) + '\n\n');
const blackhole = await blackholeBench(EVENTS, RUNS, workers);
process.stdout.write(blackholeTable(blackhole, EVENTS, RUNS) + '\n\n');

const generatorSource = await generatorSourceBench(EVENTS, RUNS, workers);
process.stdout.write(generatorSourceTable(generatorSource, RUNS) + '\n\n');
const jetstreamPath = await jetstreamBench(Math.min(EVENTS, 200_000), RUNS);
process.stdout.write(jetstreamTable(jetstreamPath, RUNS) + '\n\n');

const events = new NexmarkGenerator({ seed: 1 }).batch(Math.min(EVENTS * 2, 2_000_000));
// A quick run recovers as many keys as it has events (at its default of 100 k, a full run's smaller size).
const durability = await durabilityBench(events, RUNS, workers, values.quick ? [EVENTS] : [100_000, 1_000_000]);
process.stdout.write(durabilityTable(durability, events.length, RUNS) + '\n');

await mkdir(dirname(out), { recursive: true });
const lifecycle = await lifecycleBench(dirname(out), values.quick ? 200_000 : 2_000_000, values.quick ? 50_000 : 500_000, RUNS, workers);
process.stdout.write('\n' + lifecycleTable(lifecycle, RUNS) + '\n');

await writeFile(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores, events: EVENTS, runs: RUNS, workloads: results, targets, steadyState, cliPath, scaling, rings, frameCodec, blackhole, generatorSource, jetstream: jetstreamPath, durability, lifecycle }, null, 2));
process.stderr.write(`wrote ${out}\n`);
