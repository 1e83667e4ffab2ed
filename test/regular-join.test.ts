import t from 'tap';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { pipeline } from '../lib/index.js';
import { fixture, runEngine } from './helpers/collect.js';
import { allResults, batchesOf, sameAsReference, type Expected } from './helpers/compare.js';
import { crashAndRerun } from './helpers/script.js';
import { OUT_OF_ORDER_MS } from './fixtures/regular-joins.js';

const EVENTS = 40_000;
const BATCH = 2_000;
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 3, outOfOrderMs: 800 }).batch(EVENTS);

interface Input { is: (e: NexmarkEvent) => boolean; key: (e: NexmarkEvent) => unknown; time: (e: NexmarkEvent) => number; value: (e: NexmarkEvent) => any }

/**
 * A regular join with a TTL written plainly: the watermark before each event is the largest time of either
 * input so far, less the bound, less 1; an event is kept while the watermark is below its time + ttl, and
 * joins every kept event of the other input with its key when it comes.
 */
function joinedWithTtl(left: Input, right: Input, ttlMs: number, select: (l: any, r: any, key: unknown) => unknown) {
  const kept: Array<Map<unknown, Array<{ time: number; value: unknown }>>> = [new Map(), new Map()];
  const results: unknown[] = [];
  let largest = -Infinity;
  for (const e of events) {
    if (!left.is(e) && !right.is(e)) continue;
    const side = left.is(e) ? 0 : 1;
    const input = side === 0 ? left : right;
    const key = input.key(e);
    const time = input.time(e);
    const value = input.value(e);
    const wm = largest - OUT_OF_ORDER_MS - 1;
    largest = Math.max(largest, time);
    for (const other of kept[1 - side].get(key) ?? []) {
      if (other.time + ttlMs > wm) results.push(side === 0 ? select(value, other.value, key) : select(other.value, value, key));
    }
    if (time + ttlMs > wm) kept[side].set(key, [...(kept[side].get(key) ?? []), { time, value }]);
  }
  return { results };
}

const auction = { is: (e: NexmarkEvent) => e.kind === 'auction', time: (e: NexmarkEvent) => (e.kind === 'auction' ? e.auction.dateTime : NaN), value: (e: NexmarkEvent) => (e.kind === 'auction' ? e.auction : null) };
const expected: Expected = {
  'local-sellers': joinedWithTtl(
    { is: (e) => e.kind === 'person' && ['OR', 'ID', 'CA'].includes(e.person.state), key: (e) => (e.kind === 'person' ? e.person.id : null), time: (e) => (e.kind === 'person' ? e.person.dateTime : NaN), value: (e) => (e.kind === 'person' ? e.person : null) },
    { ...auction, key: (e) => (e.kind === 'auction' ? e.auction.seller : null) },
    3_000, (p, a) => ({ name: p.name, city: p.city, state: p.state, auction: a.id })),
  'bids-joined': joinedWithTtl(
    { is: (e) => e.kind === 'bid', key: (e) => (e.kind === 'bid' ? e.bid.auction : null), time: (e) => (e.kind === 'bid' ? e.bid.dateTime : NaN), value: (e) => (e.kind === 'bid' ? e.bid : null) },
    { ...auction, key: (e) => (e.kind === 'auction' ? e.auction.id : null) },
    500, (left, right, key) => ({ key, left, right })),
};

t.test('the reference joins pairs, and the TTL leaves some out', async (t) => {
  for (const [name, want] of Object.entries(expected)) t.ok(want.results.length > 50, `${name}: ${want.results.length} pairs`);
  const forever = joinedWithTtl(
    { is: (e) => e.kind === 'bid', key: (e) => (e.kind === 'bid' ? e.bid.auction : null), time: (e) => (e.kind === 'bid' ? e.bid.dateTime : NaN), value: (e) => e },
    { ...auction, key: (e) => (e.kind === 'auction' ? e.auction.id : null) }, 1e9, (l, r) => [l, r]);
  t.ok(forever.results.length > expected['bids-joined'].results.length, `without the TTL ${forever.results.length} pairs, with it ${expected['bids-joined'].results.length}`);
});

const outputs: Record<number, string> = {};
for (const workers of [1, 2, 4]) {
  t.test(`${EVENTS} events, ${workers} worker(s): regular joins identical to the reference`, async (t) => {
    const run = await runEngine({ module: fixture('regular-joins'), workers }, batchesOf(events, BATCH));
    t.same(run.errors, []);
    t.same(run.late, {}, 'a regular join has no late events');
    sameAsReference(t, expected, run);
    outputs[workers] = allResults(expected, run);
  });
}

t.test('sorted output is byte-identical with 1, 2 and 4 workers', async (t) => {
  t.equal(Object.keys(outputs).length, 3);
  for (const workers of [2, 4]) t.ok(outputs[workers] === outputs[1], `${workers} workers`);
});

t.test('join state survives a SIGKILL and a restart with another worker count', async (t) => {
  const { results, errors } = await crashAndRerun(t, fixture('regular-joins'), Object.keys(expected), batchesOf(events, BATCH), { checkpointAt: 8, killAt: 13, workers: [4, 2] });
  t.same(errors, []);
  sameAsReference(t, expected, { results, late: {} });
});

t.test('a regular join needs a TTL', async (t) => {
  const input = pipeline('input').keyBy((e: { k: string }) => e.k).eventTime((e: { t: number }) => e.t);
  const base = () => pipeline('j').keyBy((e: { k: string }) => e.k).eventTime((e: { t: number }) => e.t);
  t.match(base().join(input, { ttlMs: 0 }).problems(), [/join\(\) needs ttlMs, a number > 0, got 0/]);
  t.match(base().join(input, {} as never).problems(), [/join\(\) needs ttlMs, a number > 0, got undefined/]);
  t.same(base().join(input, { ttlMs: 10 }).problems(), []);
});
