import t from 'tap';
import { fileURLToPath } from 'node:url';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import { Plain, prepare, type WorkloadName } from '../benchmarks/baselines/plain.js';
import { runEngine, sorted } from './helpers/collect.js';
import { batchesOf } from './helpers/compare.js';

const EVENTS = 30_000;
// The bench's events: generated with its seed, 2 s out of order at most (the pipelines allow 2 s too).
const events = new NexmarkGenerator({ seed: 1 }).batch(EVENTS);

/** The bench's plain-loop baseline over the same events: the reference. */
function plain(name: WorkloadName): unknown[] {
  const out: unknown[] = [];
  const p = new Plain(name, (r) => out.push(r));
  for (const e of events) {
    const v = prepare(name, e);
    if (v !== undefined) p.add(v);
  }
  p.finish();
  return out;
}

for (const name of ['q3-join', 'q8-window-join', 'q5-hot-items', 'q9-winning-bids', 'q4-category-average'] as const) {
  const module = fileURLToPath(new URL(`../benchmarks/workloads/${name}.js`, import.meta.url));
  const expected = sorted(plain(name));
  t.test(`Nexmark ${name}: the bench's pipeline module gives the plain loop's results on 1 and 3 workers`, async (t) => {
    t.ok(expected.length > 1, `${expected.length} results`);
    for (const workers of [1, 3]) {
      const run = await runEngine({ module, workers }, batchesOf(events, 5_000));
      t.same(run.errors, []);
      t.ok(sorted(run.results[name]).join('\n') === expected.join('\n'), `${workers} worker(s): identical to the plain loop`);
    }
  });
}
