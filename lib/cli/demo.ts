import { fileURLToPath } from 'node:url';
import { start } from '../calling-thread/entry-points.js';
import type { WindowResult } from '../pipeline/windows/window.js';
import { Progress } from './progress.js';
import { formatSummary } from './summary.js';
import { grouped } from './grouped.js';

type BidsResult = WindowResult<{ bids: number; volume: number; top: number }> & { key: number }; // keyed by auction id

const JOB = fileURLToPath(new URL('../../examples/bids-per-auction.js', import.meta.url));
/**
 * `keyflow demo`: the main job (bids per auction, tumbling 10 s windows) on generated Nexmark events,
 * printing results as they arrive, the busiest windows, and throughput. The generator is a parallel
 * source: source threads generate and route ranges of events (engine.ingestNexmark()).
 */
export async function demo(options: { events: number; workers?: number; seed: number }): Promise<number> {
  // One engine per process: none comes after it to take its threads (keepActorThreadsMs).
  const engine = await start({ module: JOB, prestartSourceThreads: true, keepActorThreadsMs: 0, ...(options.workers === undefined ? {} : { workers: options.workers }) });
  const top: BidsResult[] = [];
  let printed = 0;
  const consumed = (async () => {
    for await (const r of engine.results<BidsResult>('bids-per-auction')) {
      if (printed++ < 5) process.stdout.write(`result: ${JSON.stringify(r)}\n`);
      top.push(r);
      if (top.length > 100) top.sort((a, b) => b.bids - a.bids).length = 5;
    }
  })();
  process.stdout.write(`keyflow demo: ${grouped(options.events)} Nexmark events, bids per auction in tumbling 10 s windows\n`);
  const progress = new Progress(options.events, 'events');
  const t0 = performance.now();
  await engine.ingestNexmark({ events: options.events, seed: options.seed, onProgress: (n) => progress.update(n, n / ((performance.now() - t0) / 1000)) });
  const summary = await engine.stop();
  progress.stop();
  await consumed;
  process.stdout.write('busiest windows:\n');
  for (const r of top.sort((a, b) => b.bids - a.bids).slice(0, 5)) {
    process.stdout.write(`  auction ${r.key} [${new Date(r.windowStart).toISOString()}, +10 s): ${r.bids} bids, volume ${r.volume}, top ${r.top}\n`);
  }
  process.stdout.write(formatSummary(summary) + `\nworkers:    ${engine.workerCount}\n`);
  return 0;
}
