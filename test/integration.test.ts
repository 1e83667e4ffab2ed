import t from 'tap';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { Bid, NexmarkEvent } from '../lib/nexmark/model.js';
import { fixture, runEngine, sorted } from './helpers/collect.js';
import { reference, type Item } from './helpers/reference.js';

const EVENTS = 100_000;
const BATCH = 5_000;
// Events arrive up to 3 s out of order while the pipelines allow 2 s: some are late, on purpose.
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 2026, outOfOrderMs: 3_000 }).batch(EVENTS);
const batches = Array.from({ length: EVENTS / BATCH }, (_, i) => events.slice(i * BATCH, (i + 1) * BATCH));
const bids: Bid[] = events.flatMap((e) => (e.kind === 'bid' ? [e.bid] : []));

const prices = (items: Item<Bid>[]) => items.map((i) => i.value.price);
const expected = {
  'tumbling-bids': reference(bids, {
    key: (b) => b.auction, time: (b) => b.dateTime, outOfOrderMs: 2_000, lateness: 0,
    window: { type: 'tumbling', size: 10_000 },
    aggregate: (items) => ({ bids: items.length, volume: prices(items).reduce((a, b) => a + b, 0), top: Math.max(...prices(items)) }),
  }),
  'sliding-bidders': reference(bids, {
    key: (b) => b.bidder, time: (b) => b.dateTime, outOfOrderMs: 2_000, lateness: 1_000,
    window: { type: 'sliding', size: 10_000, slide: 2_000 },
    aggregate: (items) => ({ bids: items.length, low: Math.min(...prices(items)), mean: prices(items).reduce((a, b) => a + b, 0) / items.length }),
  }),
  'auction-sessions': reference(bids, {
    key: (b) => b.auction, time: (b) => b.dateTime, outOfOrderMs: 2_000, lateness: 0,
    window: { type: 'session', gap: 500 },
    aggregate: (items) => ({ bids: items.length, bidders: new Set(items.map((i) => i.value.bidder)).size, opening: items[0].value.price, closing: items[items.length - 1].value.price }),
  }),
};

t.test('the reference itself sees late events and re-firings (the test exercises them)', async (t) => {
  t.ok(expected['tumbling-bids'].late.length > 100, `${expected['tumbling-bids'].late.length} late bids in tumbling windows`);
  t.ok(expected['auction-sessions'].late.length > 100, `${expected['auction-sessions'].late.length} late bids in sessions`);
  const keys = expected['sliding-bidders'].results.map((r) => { const x = r as { key: number; windowStart: number }; return `${x.key}|${x.windowStart}`; });
  t.ok(new Set(keys).size < keys.length, 'some sliding windows fire more than once (allowed lateness)');
});

const BACKENDS = { memory: {}, lmdb: { stateBackend: 'lmdb', stateCacheKeys: 256 } } as const;
const outputs: Record<string, string> = {};

for (const [backend, backendOptions] of Object.entries(BACKENDS)) for (const workers of [1, 2, 4]) {
  t.test(`${EVENTS} events, ${workers} worker(s), ${backend} state: identical to the single-threaded reference`, async (t) => {
    const run = await runEngine({ module: fixture('nexmark'), workers, ...backendOptions }, batches);
    t.equal(run.summary.events, EVENTS);
    t.same(run.errors, []);
    for (const [name, want] of Object.entries(expected)) {
      const got = sorted(run.results[name]);
      t.equal(got.length, want.results.length, `${name}: ${want.results.length} results`);
      t.ok(got.join('\n') === sorted(want.results).join('\n'), `${name}: results identical to the reference`);
      t.ok(sorted(run.late[name]).join('\n') === sorted(want.late).join('\n'), `${name}: the same ${want.late.length} late events`);
    }
    outputs[`${backend} ${workers}`] = Object.keys(expected).map((name) => sorted(run.results[name]).join('\n')).join('\n');
  });
}

t.test('sorted output is byte-identical with 1, 2 and 4 workers, in memory or in LMDB', async (t) => {
  const reference = outputs['memory 1'];
  t.ok(reference.length > 0);
  for (const [run, output] of Object.entries(outputs)) t.ok(output === reference, `${run} worker(s)`);
  t.equal(Object.keys(outputs).length, 6);
});
