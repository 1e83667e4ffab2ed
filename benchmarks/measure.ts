/**
 * One measured run of one implementation of one workload: events are generated inside the run (the
 * generator counts, as Nexmark counts it), and the run reports wall time, CPU time of the whole process
 * (every thread), peak RSS, and latency from the batch that made each result due to its arrival.
 */
import { Worker } from 'node:worker_threads';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { start, type Engine, type StartOptions } from '../lib/index.js';
import { hashString } from '../lib/shared/keygroups.js';
import { afterFailure } from '../lib/shared/ignore.js';
import { endIdleActors } from '../lib/calling-thread/idle-actors.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import { Plain, keyOf, prepare, timeOf, type WorkloadName } from './baselines/plain.js';

/** Each workload is a module of its own, named after it. */
export const moduleOf = (w: WorkloadName) => fileURLToPath(new URL(`./workloads/${w}.js`, import.meta.url));
const PM_WORKER = new URL('./baselines/post-message-worker.js', import.meta.url);
export const BATCH = 10_000;

export interface RunResult {
  eventsPerSecond: number;
  perCore: number;
  results: number;
  latencyMs: { p50: number; p99: number; max: number };
  peakRssMb: number;
  /** Serialized state per key in the final checkpoint (keyflow with durability only). */
  stateBytesPerKey?: number;
}

/** A result as latency sees it: a window's end, or the expiry of an auction (q9, whose window closes then). */
type WindowedResult = { windowEnd?: number; expires?: number };

/**
 * Latency: when a result arrives, how long since the ingest of the batch after which it was due (for a
 * window: the first batch that moved the watermark to its end - 1; for a per-event result: its batch's
 * acknowledgement).
 */
class Latency {
  readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  private readonly times: number[] = [];
  private readonly wms: number[] = [];

  /** `windowed`: the workload's results are windows, whose latency needs each batch's time (see batch()). */
  constructor(private readonly windowed: boolean) {}

  /**
   * A batch is about to be ingested; its bids' times, the latest of which is `latestBidTime` (as the
   * generator keeps it: reading every event again cost a run about 120 ns an event, 6 % of q8's CPU), make
   * windows due: every workload's clock.
   */
  batch(latestBidTime: number): void {
    if (!this.windowed) return;
    this.times.push(performance.now());
    this.wms.push(latestBidTime - 2_001);
  }

  /** A result arrived: if it is a window's (or a closed auction's), its latency. */
  result(r: WindowedResult): void {
    const end = r.windowEnd ?? (r.expires === undefined ? undefined : r.expires + 1);
    if (end !== undefined) this.window(end);
  }

  /** A result of a window that ends at `end` arrived. */
  private window(end: number): void {
    let lo = 0;
    let hi = this.wms.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.wms[mid] >= end - 1) hi = mid;
      else lo = mid + 1;
    }
    const due = lo < this.times.length ? this.times[lo] : this.times[this.times.length - 1];
    this.histogram.recordValue(Math.max(1, Math.round((performance.now() - due) * 1000)));
  }

  /** A per-event batch was acknowledged `ms` after its ingest began. */
  ack(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  summary(): RunResult['latencyMs'] {
    const h = this.histogram;
    return { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, max: h.maxValue / 1000 };
  }
}

/** Workloads whose results are windows: latency runs from the batch that made a window due. */
const windowed = (w: WorkloadName) => !['q0', 'q1', 'q2', 'q3-join'].includes(w);
/** Workloads that keep state by key: the postMessage baseline routes their events by key, with watermarks. */
const keyed = (w: WorkloadName) => !['q0', 'q1', 'q2'].includes(w);

async function timed(workload: WorkloadName, events: number, body: (latency: Latency) => number | Promise<number>): Promise<RunResult> {
  const latency = new Latency(windowed(workload));
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 25);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const results = await body(latency);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { eventsPerSecond: events / seconds, perCore: events / cpuSeconds, results, latencyMs: latency.summary(), peakRssMb: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20 };
}

/**
 * keyflow on a workload. `sink` 'blackhole': nobody takes the results (the actors only count them, as
 * Nexmark's blackhole sink takes them): for workloads whose latency is not measured by their results.
 * `threads` 'kept': the engine takes actor threads an engine before let go, where they fit (its code then
 * compiled, see lib/calling-thread/idle-actors.ts), as a process that runs engine after engine does; 'new':
 * those are ended first, so the engine starts threads of its own and compiles its code in the run.
 */
export async function measureKeyflow(workload: WorkloadName, events: number, workers: number, durability: 'none' | 'batch', sink: 'stream' | 'blackhole' = 'stream',
                                     threads: 'kept' | 'new' = 'kept'): Promise<RunResult> {
  if (sink === 'blackhole' && windowed(workload)) throw new Error(`${workload}: its latency is measured from its results, which a blackhole does not deliver`);
  if (threads === 'new') await endIdleActors();
  return withKeyflow(workload, durability === 'batch', { workers, snapshotEveryMs: 10_000 }, async (engine) => {
    let stateBytesPerKey: number | undefined;
    const run = await timed(workload, events, async (latency) => {
      let results = 0;
      if (sink === 'stream') {
        engine.results(workload).on('data', (r: WindowedResult) => {
          results++;
          latency.result(r);
        });
      }
      const gen = new NexmarkGenerator({ seed: 1 });
      for (let sent = 0; sent < events; sent += BATCH) {
        const batch = gen.batch(Math.min(BATCH, events - sent));
        latency.batch(gen.latestBidTime);
        const t = performance.now();
        await engine.ingest(batch);
        if (!windowed(workload)) latency.ack(performance.now() - t);
      }
      // A workload module has one pipeline: the engine's count of results is its count.
      const { checkpoints, results: counted } = await engine.stop();
      if (checkpoints.lastKeys > 0) stateBytesPerKey = checkpoints.lastBytes / checkpoints.lastKeys;
      return sink === 'stream' ? results : counted;
    });
    return stateBytesPerKey === undefined ? run : { ...run, stateBytesPerKey };
  });
}

/**
 * `body` with an engine on `workload`, with a state directory of its own if `durable` (durability batch,
 * start()'s default), removed after; an engine `body` failed with is aborted first, so that no thread
 * outlives its directory.
 */
export async function withKeyflow<T>(workload: WorkloadName, durable: boolean, options: Omit<StartOptions, 'module' | 'stateDir'>, body: (engine: Engine) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-bench-'));
  try {
    const engine = await start({ module: moduleOf(workload), ...options, ...(durable ? { stateDir: dir } : {}) });
    try {
      return await body(engine);
    } catch (err) {
      await engine.abort().catch(afterFailure);
      throw err;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function measurePlain(workload: WorkloadName, events: number): Promise<RunResult> {
  // No actor thread an engine before kept waits in the process while a baseline runs (its heap would count).
  await endIdleActors();
  return timed(workload, events, (latency) => {
    let results = 0;
    const plain = new Plain(workload, (r) => {
      results++;
      latency.result(r as WindowedResult);
    });
    const gen = new NexmarkGenerator({ seed: 1 });
    for (let sent = 0; sent < events; sent += BATCH) {
      const batch = gen.batch(Math.min(BATCH, events - sent));
      latency.batch(gen.latestBidTime);
      const t = performance.now();
      for (const e of batch) {
        const v = prepare(workload, e);
        if (v !== undefined) plain.add(v);
      }
      if (!windowed(workload)) latency.ack(performance.now() - t);
    }
    plain.finish();
    return results;
  });
}

/**
 * The naive multi-threaded design: route each event by key hash (round-robin when there is no key) into
 * per-worker arrays, postMessage a batch to each worker, which runs the plain computation on its share.
 */
export async function measurePostMessage(workload: WorkloadName, events: number, workers: number): Promise<RunResult> {
  await endIdleActors(); // as for the plain loop
  const pool = Array.from({ length: workers }, () => new Worker(PM_WORKER, { workerData: { workload } }));
  try {
    return await timed(workload, events, async (latency) => {
      let results = 0;
      const waiting = new Map<number, { left: number; started: number; done: () => void }>();
      for (const w of pool) {
        w.on('message', (m: { batch: number; results: WindowedResult[] }) => {
          results += m.results.length;
          for (const r of m.results) latency.result(r);
          const entry = waiting.get(m.batch)!;
          if (--entry.left === 0) {
            if (!windowed(workload)) latency.ack(performance.now() - entry.started);
            waiting.delete(m.batch);
            entry.done();
          }
        });
      }
      const send = (batch: number, messages: Array<Record<string, unknown>>) => new Promise<void>((done) => {
        waiting.set(batch, { left: pool.length, started: performance.now(), done });
        pool.forEach((w, i) => w.postMessage({ batch, ...messages[i] }));
      });
      const gen = new NexmarkGenerator({ seed: 1 });
      let maxTime = -Infinity;
      let rr = 0;
      const inFlight: Promise<void>[] = [];
      let b = 0;
      for (let sent = 0; sent < events; sent += BATCH, b++) {
        const batch = gen.batch(Math.min(BATCH, events - sent));
        latency.batch(gen.latestBidTime);
        const parts = pool.map(() => ({ values: [] as unknown[], wms: [] as number[] }));
        for (const e of batch) {
          const v = prepare(workload, e);
          if (v === undefined) continue;
          let target: number;
          let wm = -Infinity;
          if (keyed(workload)) {
            const t = timeOf(workload, v);
            wm = maxTime - 2_001;
            if (t > maxTime) maxTime = t;
            target = hashString(String(keyOf(workload, v))) % pool.length;
          } else {
            target = rr++ % pool.length;
          }
          parts[target].values.push(v);
          parts[target].wms.push(wm);
        }
        const wm = maxTime - 2_001;
        inFlight.push(send(b, parts.map((p) => ({ ...p, wm }))));
        // A little pipelining, as a task pool would have: at most two batches in flight.
        if (inFlight.length >= 2) await inFlight.shift();
      }
      await Promise.all(inFlight);
      await send(b, pool.map(() => ({ end: true })));
      return results;
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
