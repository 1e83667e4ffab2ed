import t from 'tap';
import { Readable } from 'node:stream';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { pipeline, start } from '../lib/index.js';
import { fixture, runEngine, type Collected } from './helpers/collect.js';
import { allResults, batchesOf, sameAsReference, type Expected } from './helpers/compare.js';
import { crashAndRerun } from './helpers/script.js';
import { OUT_OF_ORDER_MS } from './fixtures/joins.js';

const EVENTS = 40_000;
const BATCH = 2_000;
// Events arrive up to 300 ms out of order while the joins allow 200 ms: some are late, on purpose.
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 5, outOfOrderMs: 300 }).batch(EVENTS);

interface Input { key: (e: NexmarkEvent) => unknown; time: (e: NexmarkEvent) => number; value: (e: NexmarkEvent) => unknown }

/**
 * An interval join written plainly: the watermark before each event is the largest time of either input
 * so far, less the bound, less 1; an event older than it is late; every pair of on-time events of one key
 * with left time t and right time s, t + lower <= s <= t + upper, is a result.
 */
function joined(left: Input & { is: (e: NexmarkEvent) => boolean }, right: Input & { is: (e: NexmarkEvent) => boolean },
                lowerMs: number, upperMs: number, select: (l: any, r: any, key: unknown) => unknown) {
  const onTime: Array<{ side: 0 | 1; key: unknown; time: number; value: unknown }> = [];
  const late: unknown[] = [];
  let largest = -Infinity;
  for (const e of events) {
    if (!left.is(e) && !right.is(e)) continue;
    const side = left.is(e) ? 0 : 1;
    const input = side === 0 ? left : right;
    const key = input.key(e);
    if (key === undefined) continue; // a dead letter
    const time = input.time(e);
    if (time < largest - OUT_OF_ORDER_MS - 1) late.push(input.value(e));
    else onTime.push({ side, key, time, value: input.value(e) });
    largest = Math.max(largest, time);
  }
  const results: unknown[] = [];
  for (const l of onTime) {
    if (l.side !== 0) continue;
    for (const r of onTime) {
      if (r.side === 1 && r.key === l.key && l.time + lowerMs <= r.time && r.time <= l.time + upperMs) results.push(select(l.value, r.value, l.key));
    }
  }
  return { results, late };
}

const bid = (e: NexmarkEvent) => (e.kind === 'bid' ? e.bid : undefined)!;
const auction = (e: NexmarkEvent) => (e.kind === 'auction' ? e.auction : undefined)!;
const person = (e: NexmarkEvent) => (e.kind === 'person' ? e.person : undefined)!;
const expected: Expected = {
  'bids-after-opening': joined(
    { is: (e) => e.kind === 'bid', key: (e) => bid(e).auction, time: (e) => bid(e).dateTime, value: bid },
    { is: (e) => e.kind === 'auction', key: (e) => auction(e).id, time: (e) => auction(e).dateTime, value: auction },
    -500, 0, (b, a) => ({ auction: a.id, bidder: b.bidder, price: b.price, opened: a.dateTime, at: b.dateTime })),
  'new-sellers': joined(
    { is: (e) => e.kind === 'person', key: (e) => person(e).id, time: (e) => person(e).dateTime, value: person },
    { is: (e) => e.kind === 'auction', key: (e) => (auction(e).seller === 1013 ? undefined : auction(e).seller), time: (e) => auction(e).dateTime, value: auction },
    -1_000, 2_000, (p, a, key) => ({ key, left: p, right: a })),
};
const deadLetters = events.filter((e) => e.kind === 'auction' && e.auction.seller === 1013).length;


t.test('the reference joins many pairs, sees late events, and the inputs have dead letters', async (t) => {
  for (const [name, want] of Object.entries(expected)) {
    t.ok(want.results.length > 100, `${name}: ${want.results.length} pairs`);
    t.ok(want.late!.length > 10, `${name}: ${want.late!.length} late`);
  }
  t.ok(deadLetters > 0, `${deadLetters} auctions of seller 1013 have no key`);
});

const outputs: Record<string, string> = {};
for (const workers of [1, 2, 4]) {
  t.test(`${EVENTS} events, ${workers} worker(s): interval joins identical to the reference`, async (t) => {
    const run = await runEngine({ module: fixture('joins'), workers }, batchesOf(events, BATCH));
    sameAsReference(t, expected, run);
    t.equal(run.errors.length, deadLetters, 'an auction without a key is a dead letter');
    t.match(run.errors[0], { pipeline: 'new-sellers', stage: 'keyBy', code: 'ERR_KEYFLOW_MISSING_KEY', message: /the joined input 'auctions-by-seller': keyBy\(\) returned undefined/ });
    outputs[`ingest, ${workers} worker(s)`] = allResults(expected, run);
  });
}

t.test('a parallel source (NDJSON on 2 source threads) joins the same pairs', async (t) => {
  const engine = await start({ module: fixture('joins'), workers: 2, sourceThreads: 2 });
  const run: Pick<Collected, 'results' | 'late'> = { results: {}, late: {} };
  for (const name of Object.keys(expected)) {
    engine.results(name).on('data', (r) => (run.results[name] ??= []).push(r));
    engine.late(name).on('data', (e) => (run.late[name] ??= []).push(e));
  }
  const ndjson = Buffer.from(events.map((e) => JSON.stringify(e)).join('\n'));
  await engine.ingestNdjson(Readable.from([ndjson.subarray(0, 3_000_000), ndjson.subarray(3_000_000)]));
  await engine.stop();
  sameAsReference(t, expected, run);
  outputs['ndjson, 2 source threads'] = allResults(expected, run);
});

t.test('sorted output is byte-identical whatever the worker count or source', async (t) => {
  const all = Object.values(outputs);
  t.equal(all.length, 4);
  for (const [run, output] of Object.entries(outputs)) t.ok(output === all[0], run);
});

t.test('join state survives a SIGKILL and a restart with another worker count', async (t) => {
  const { results } = await crashAndRerun(t, fixture('joins'), Object.keys(expected), batchesOf(events, BATCH), { checkpointAt: 9, killAt: 14, workers: [3, 2] });
  sameAsReference(t, expected, { results, late: {} }, { late: false });
});

t.test('a join that cannot work is refused with what is wrong', async (t) => {
  const input = pipeline('input').keyBy((e: { k: string }) => e.k).eventTime((e: { t: number }) => e.t);
  const base = () => pipeline('j').keyBy((e: { k: string }) => e.k).eventTime((e: { t: number }) => e.t);
  t.match(base().intervalJoin(input, { lowerMs: 10, upperMs: 5 }).problems(), [/intervalJoin\(\) needs lowerMs <= upperMs, both numbers, got lowerMs 10 and upperMs 5/]);
  t.match(base().intervalJoin(pipeline('untimed').keyBy((e: { k: string }) => e.k), { lowerMs: 0, upperMs: 5 }).problems(), [/input 'untimed' needs keyBy\(\) and eventTime\(\)/]);
  t.match(pipeline('unkeyed').intervalJoin(input, { lowerMs: 0, upperMs: 5 }).problems(), [/intervalJoin\(\) needs keyBy\(\) and eventTime\(\) first/]);
  t.match(base().intervalJoin(input, { lowerMs: 0, upperMs: 5 }).process({ onEvent() {} }).problems(), [/takes the place of window\(\) or process\(\)/]);
  t.same(base().intervalJoin(input, { lowerMs: -5, upperMs: 5 }).problems(), []);
});
