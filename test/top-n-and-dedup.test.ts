import t from 'tap';
import { AggregateSet } from '../lib/pipeline/aggregates/aggregate-set.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { Bid, NexmarkEvent } from '../lib/nexmark/model.js';
import { deduplicate, topCount, topN } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture, runEngine } from './helpers/collect.js';
import { allResults, batchesOf, sameAsReference, type Expected } from './helpers/compare.js';
import { reference, type Item } from './helpers/reference.js';
import { crashAndRerun } from './helpers/script.js';
import { addedAndMerged } from './helpers/aggregate-merge.js';
import { OUT_OF_ORDER_MS, magnitude } from './fixtures/ranking.js';

const EVENTS = 20_000;
const BATCH = 2_000;
// Bids arrive up to 1 s out of order while the pipelines allow 200 ms: some are late, on purpose.
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 11, outOfOrderMs: 1_000 }).batch(EVENTS);
const bids: Bid[] = events.flatMap((e) => (e.kind === 'bid' ? [e.bid] : []));

/** The reference ranking: by `by` (descending unless asc), ties to the earlier arrival, the first n. */
function ranked<V>(items: Item<Bid>[], n: number, by: (b: Bid) => number, value: (b: Bid) => V, asc = false): V[] {
  const sign = asc ? -1 : 1;
  return [...items].sort((a, b) => (by(a.value) === by(b.value) ? a.seq - b.seq : sign * (by(b.value) - by(a.value)))).slice(0, n).map((i) => value(i.value));
}

/** The reference for topCount: values by how often they come, a tie to the one that came first; the first n. */
function counted(items: Item<Bid>[], n: number, fn: (b: Bid) => unknown): Array<{ value: unknown; count: number }> {
  const counts = new Map<string, { value: unknown; count: number }>();
  for (const { value } of items) {
    const v = fn(value);
    const id = JSON.stringify(v);
    const tally = counts.get(id) ?? { value: v, count: 0 };
    tally.count++;
    counts.set(id, tally);
  }
  // A Map iterates in first-insertion order: a stable sort by count keeps ties in order of first arrival.
  return [...counts.values()].sort((a, b) => b.count - a.count).slice(0, n);
}

/**
 * Deduplication written plainly: a key's span lasts until the watermark (the largest time before the
 * event, less the bound, less 1) reaches its first event's time + withinMs; the end of input ends all.
 */
function deduplicated(keyOf: (b: Bid) => unknown, keep: 'first' | 'last', withinMs: number): Bid[] {
  const open = new Map<unknown, { end: number; latest: Bid }>();
  const out: Bid[] = [];
  const close = (key: unknown, span: { latest: Bid }) => {
    if (keep === 'last') out.push(span.latest);
    open.delete(key);
  };
  let largest = -Infinity;
  for (const b of bids) {
    const wm = largest - OUT_OF_ORDER_MS - 1;
    for (const [key, span] of open) if (span.end <= wm) close(key, span);
    const key = keyOf(b);
    const span = open.get(key);
    if (span === undefined) {
      open.set(key, { end: b.dateTime + withinMs, latest: b });
      if (keep === 'first') out.push(b);
    } else if (b.dateTime >= span.latest.dateTime) {
      span.latest = b;
    }
    largest = Math.max(largest, b.dateTime);
  }
  for (const [key, span] of open) close(key, span);
  return out;
}

const expected: Expected = {
  'top-bids': reference(bids, {
    key: (b) => b.auction % 20, time: (b) => b.dateTime, outOfOrderMs: OUT_OF_ORDER_MS, lateness: 100,
    window: { type: 'sliding', size: 400, slide: 200 },
    aggregate: (items) => ({ top: ranked(items, 3, magnitude, (b) => b), cheapest: ranked(items, 2, (b) => b.price, (b) => b.bidder, true), n: items.length }),
  }),
  'top-sessions': reference(bids, {
    key: (b) => b.bidder, time: (b) => b.dateTime, outOfOrderMs: OUT_OF_ORDER_MS, lateness: 0,
    window: { type: 'session', gap: 50 },
    aggregate: (items) => ({ top: ranked(items, 2, magnitude, (b) => b.price) }),
  }),
  'hot-auctions': reference(bids, {
    key: () => 'all', time: (b) => b.dateTime, outOfOrderMs: OUT_OF_ORDER_MS, lateness: 0,
    window: { type: 'sliding', size: 400, slide: 200 },
    aggregate: (items) => ({ hot: counted(items, 3, (b) => b.auction), bidders: counted(items, 2, (b) => b.bidder % 7) }),
  }),
  'first-bids': { results: deduplicated((b) => b.bidder % 100, 'first', 300) },
  'last-bids': { results: deduplicated((b) => b.bidder % 100, 'last', 300) },
  'auctions-once': { results: [...new Map(bids.map((b) => [b.auction, b] as const).reverse()).values()] },
};


t.test('the references see what the test is about: ties, late events, spans that end and spans that do not', async (t) => {
  const top = expected['top-bids'].results as Array<{ top: Bid[]; n: number }>;
  t.ok(top.some((r) => r.n > 3 && magnitude(r.top[0]) === magnitude(r.top[2])), 'windows whose top 3 tie on magnitude');
  t.ok(expected['top-bids'].late!.length > 0 && expected['top-sessions'].late!.length > 0, 'late bids');
  const hot = expected['hot-auctions'].results as Array<{ hot: Array<{ count: number }> }>;
  t.ok(hot.some((r) => r.hot.length > 1 && r.hot[0].count === r.hot[1].count), 'windows whose hottest auctions tie');
  const first = expected['first-bids'].results.length;
  t.ok(first > 100 && first < bids.length / 10, `${first} first bids: keys come back after their spans end`);
  t.equal(expected['last-bids'].results.length, first, 'one last bid per span, as one first bid');
});

const outputs: Record<number, string> = {};
for (const workers of [1, 2, 4]) {
  t.test(`${EVENTS} events, ${workers} worker(s): top-N and deduplication identical to the references`, async (t) => {
    const run = await runEngine({ module: fixture('ranking'), workers }, batchesOf(events, BATCH));
    sameAsReference(t, expected, run);
    outputs[workers] = allResults(expected, run);
  });
}

t.test('the same with their state in LMDB (two keys per actor in memory)', async (t) => {
  const run = await runEngine({ module: fixture('ranking'), workers: 2, stateBackend: 'lmdb', stateCacheKeys: 2 }, batchesOf(events, BATCH));
  sameAsReference(t, expected, run);
});

t.test('deduplication in processing time: a span lasts withinMs of the actor\'s clock', async (t) => {
  const engine = await start({ module: fixture('ranking'), pipelines: ['first-seen', 'last-seen'], workers: 1 });
  const results: Record<string, unknown[]> = { 'first-seen': [], 'last-seen': [] };
  for (const name of Object.keys(results)) engine.results(name).on('data', (r) => results[name].push(r));
  const bid = (id: number) => ({ kind: 'bid', bid: { auction: 1, bidder: 7, price: id, dateTime: 0, channel: '', url: '', extra: '' } });
  await engine.ingest([bid(1), bid(2)]);
  await new Promise((r) => setTimeout(r, 600)); // past the 200 ms span, on the actor's clock too
  await engine.ingest([bid(3)]);
  await new Promise((r) => setTimeout(r, 600));
  await engine.stop();
  const prices = (name: string) => results[name].map((r) => (r as { price: number }).price);
  t.same(prices('first-seen'), [1, 3], 'keep first: the first of each span, at once');
  t.same(prices('last-seen'), [2, 3], 'keep last: the last of each span, when its time is up');
});

t.test('sorted output is byte-identical with 1, 2 and 4 workers', async (t) => {
  t.equal(Object.keys(outputs).length, 3);
  for (const workers of [2, 4]) t.ok(outputs[workers] === outputs[1], `${workers} workers`);
});

t.test('top-N and deduplication state survive a SIGKILL and a restart with another worker count', async (t) => {
  const { results, errors } = await crashAndRerun(t, fixture('ranking'), Object.keys(expected), batchesOf(events, BATCH), { checkpointAt: 10, killAt: 15, workers: [2, 3] });
  t.same(errors, []);
  sameAsReference(t, expected, { results, late: {} }, { late: false });
});

t.test('topN() and topCount() rank like a stable sort and merge like adding everything to one', async (t) => {
  const set = new AggregateSet({
    top: topN(3, (v: number) => v % 4), low: topN(2, (v: number) => v, { order: 'asc', value: (v) => `v${v}` }), often: topCount(2, (v: number) => v % 3), halves: topCount(1, (v: number) => ({ odd: v % 2 })),
  });
  const { one: a, merged: b } = addedAndMerged(t, set, [5, 8, 13, 2, 7, 4, 11, 3, 6, 1], (seq) => (seq % 2 === 0 ? 0 : 1));
  // v % 4: 5→1 8→0 13→1 2→2 7→3 4→0 11→3 3→3 6→2 1→1; the 3s in arrival order: 7, 11, 3.
  // v % 3: 2 and 1 come four times each (2 first), 0 twice; odd values six times (objects count by their JSON).
  t.same(a, { top: [7, 11, 3], low: ['v1', 'v2'], often: [{ value: 2, count: 4 }, { value: 1, count: 4 }], halves: [{ value: { odd: 1 }, count: 6 }] });
  t.same(b, a);
  t.match(set.extract(Number.NaN), { kind: 'value', message: /top: topN\(\) needs a number, got NaN/ });
  t.equal(set.combinable, false, 'with topN(), events go to their actor whole, not as pane inputs');
  t.equal(new AggregateSet({ often: topCount(2, (v: number) => v) }).combinable, true, 'topCount() alone counts plain values: panes combine');
});

t.test('topN() ranks by several numbers in turn, and ties (infinite ones too) go to the earlier arrival', async (t) => {
  const set = new AggregateSet({
    lexi: topN(3, (v: number[]) => [v[0], -v[1]], { value: (v) => v.join('/') }),
    infinite: topN(2, (v: number[]) => (v[0] === 9 ? Infinity : v[0]), { value: (v) => v.join('/') }),
  });
  const { one: a, merged: b } = addedAndMerged(t, set, [[1, 5], [9, 7], [9, 3], [2, 1], [9, 3]], (seq) => (seq < 2 ? 0 : 1));
  t.same(a, { lexi: ['9/3', '9/3', '9/7'], infinite: ['9/7', '9/3'] });
  t.same(b, a, 'merged as added in one');
  t.match(new AggregateSet({ lexi: topN(1, () => [1, 'x' as unknown as number]) }).extract(0), { kind: 'value', message: /topN\(\) needs a number, got string "x"/ });
});

t.test('bad arguments are refused where the pipeline is defined', async (t) => {
  const refused = (fn: () => unknown, message: RegExp) => t.throws(fn, { name: 'KeyflowError', code: 'ERR_KEYFLOW_CONFIG', message });
  refused(() => topN(0, (v: number) => v), /topN\(\) needs n, an integer >= 1, got 0/);
  refused(() => topN(2.5, (v: number) => v), /got 2.5/);
  refused(() => topN(3, 'price' as never), /needs a function/);
  refused(() => topN(3, (v: number) => v, { order: 'down' as never }), /order must be 'desc' or 'asc'/);
  refused(() => topCount(-1, (v: number) => v), /topCount\(\) needs n, an integer >= 1, got -1/);
  refused(() => deduplicate({ keep: 'any' as never }), /keep must be 'first' or 'last'/);
  refused(() => deduplicate({ withinMs: -1 }), /withinMs must be a number > 0, got -1/);
  refused(() => deduplicate({ keep: 'last' }), /keep: 'last' needs withinMs/);
});
