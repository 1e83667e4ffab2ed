import t, { type Test } from 'tap';
import { Readable } from 'node:stream';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { pipeline, session, tumbling } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture, runEngine, type Collected } from './helpers/collect.js';
import { allResults, batchesOf, sameAsReference, type Expected } from './helpers/compare.js';
import { crashAndRerun } from './helpers/script.js';
import { reference, type ReferenceSpec } from './helpers/reference.js';
import { KEYLESS_SELLER, OUT_OF_ORDER_MS, Q3_STATES } from './fixtures/joins.js';

const EVENTS = 20_000;
const BATCH = 1_000;
// Events arrive up to 600 ms out of order while the joins allow 200 ms: some are late, on purpose.
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 5, outOfOrderMs: 600 }).batch(EVENTS);

/** One input of a join, as the references read it. */
interface Input { is: (e: NexmarkEvent) => boolean; key: (e: NexmarkEvent) => unknown; time: (e: NexmarkEvent) => number; value: (e: NexmarkEvent) => any }
type Select = (left: any, right: any, key: unknown) => unknown;

/**
 * The events a join takes, in order, with what the references need: the input (0 left, 1 right; left
 * first, as the engine routes), the key (events without one are dead letters) and the watermark before
 * it: the largest time of either input so far, less the bound, less 1.
 */
function inputsOf(left: Input, right: Input) {
  const out: Array<{ side: 0 | 1; key: unknown; time: number; value: unknown; wm: number }> = [];
  let largest = -Infinity;
  for (const e of events) {
    if (!left.is(e) && !right.is(e)) continue;
    const side = left.is(e) ? 0 : 1;
    const input = side === 0 ? left : right;
    const key = input.key(e);
    if (key === undefined) continue;
    const time = input.time(e);
    out.push({ side, key, time, value: input.value(e), wm: largest - OUT_OF_ORDER_MS - 1 });
    largest = Math.max(largest, time);
  }
  return out;
}

/** Interval join, plainly: an event older than the watermark is late; every pair of on-time events of a key with t + lower <= s <= t + upper. */
function intervalJoined(left: Input, right: Input, lowerMs: number, upperMs: number, select: Select) {
  const inputs = inputsOf(left, right);
  const rights = new Map<unknown, typeof inputs>();
  for (const r of inputs) if (r.side === 1 && r.time >= r.wm) rights.set(r.key, [...(rights.get(r.key) ?? []), r]);
  const results: unknown[] = [];
  for (const l of inputs) {
    if (l.side !== 0 || l.time < l.wm) continue;
    for (const r of rights.get(l.key) ?? []) if (l.time + lowerMs <= r.time && r.time <= l.time + upperMs) results.push(select(l.value, r.value, l.key));
  }
  return { results, late: inputs.filter((i) => i.time < i.wm).map((i) => i.value) };
}

/**
 * Window join (tumbling, sliding or session windows), plainly: the test's window reference over both inputs'
 * events (an event joins its windows that have not fired; one with none is late), each window's left
 * events with its right ones.
 */
function windowJoined(left: Input, right: Input, window: ReferenceSpec<unknown>['window'], select: (l: any, r: any, w: { key: unknown; windowStart: number; windowEnd: number }) => unknown) {
  type In = ReturnType<typeof inputsOf>[number];
  const windows = reference<In>(inputsOf(left, right), {
    key: (i) => i.key, time: (i) => i.time, outOfOrderMs: OUT_OF_ORDER_MS, lateness: 0, window,
    aggregate: (items) => ({ sides: [0, 1].map((side) => items.filter((i) => i.value.side === side).map((i) => i.value.value)) }),
  });
  const results = (windows.results as Array<{ key: unknown; windowStart: number; windowEnd: number; sides: unknown[][] }>).flatMap(({ key, windowStart, windowEnd, sides: [lefts, rights] }) =>
    lefts.flatMap((l) => rights.map((r) => select(l, r, { key, windowStart, windowEnd }))));
  return { results, late: windows.late.map((i) => i.value) };
}

/** Regular join with a TTL, plainly: an event is kept while the watermark is below its time + ttl, and joins what the other input keeps for its key when it comes. */
function ttlJoined(left: Input, right: Input, ttlMs: number, select: Select) {
  const kept: Array<Map<unknown, Array<{ time: number; value: unknown }>>> = [new Map(), new Map()];
  const results: unknown[] = [];
  for (const { side, key, time, value, wm } of inputsOf(left, right)) {
    for (const other of kept[1 - side].get(key) ?? []) {
      if (other.time + ttlMs > wm) results.push(side === 0 ? select(value, other.value, key) : select(other.value, value, key));
    }
    if (time + ttlMs > wm) kept[side].set(key, [...(kept[side].get(key) ?? []), { time, value }]);
  }
  return { results, late: [] };
}

const of = <K extends NexmarkEvent['kind']>(kind: K) => (e: NexmarkEvent) => (e.kind === kind ? (e as any)[kind] : undefined);
const bid = of('bid');
const auction = of('auction');
const person = of('person');
const bids: Input = { is: (e) => e.kind === 'bid', key: (e) => bid(e).auction, time: (e) => bid(e).dateTime, value: bid };
const persons = (states?: string[]): Input => ({ is: (e) => e.kind === 'person' && (states === undefined || states.includes(e.person.state)), key: (e) => person(e).id, time: (e) => person(e).dateTime, value: person });
const auctions = (key: (a: any) => unknown): Input => ({ is: (e) => e.kind === 'auction', key: (e) => key(auction(e)), time: (e) => auction(e).dateTime, value: auction });

const expected: Expected = {
  'bids-after-opening': intervalJoined(bids, auctions((a) => a.id), -500, 0,
    (b, a) => ({ auction: a.id, bidder: b.bidder, price: b.price, opened: a.dateTime, at: b.dateTime })),
  'new-sellers': intervalJoined(persons(), auctions((a) => (a.seller === KEYLESS_SELLER ? undefined : a.seller)), -1_000, 2_000,
    (p, a, key) => ({ key, left: p, right: a })),
  'new-sellers-window': windowJoined(persons(), auctions((a) => a.seller), { type: 'tumbling', size: 1_000 },
    (p, a, w) => ({ id: p.id, name: p.name, auction: a.id, reserve: a.reserve, windowStart: w.windowStart })),
  'bids-with-auction': windowJoined(bids, auctions((a) => a.id), { type: 'sliding', size: 400, slide: 200 }, (left, right, w) => ({ ...w, left, right })),
  'bidder-sessions': windowJoined(persons(), { ...bids, key: (e) => bid(e).bidder }, { type: 'session', gap: 50 },
    (p, b, w) => ({ id: p.id, price: b.price, at: b.dateTime, windowStart: w.windowStart, windowEnd: w.windowEnd })),
  'local-sellers': ttlJoined(persons(Q3_STATES), auctions((a) => a.seller), 3_000,
    (p, a) => ({ name: p.name, city: p.city, state: p.state, auction: a.id })),
  'bids-joined': ttlJoined(bids, auctions((a) => a.id), 500, (left, right, key) => ({ key, left, right })),
};
const keyless = events.filter((e) => e.kind === 'auction' && e.auction.seller === KEYLESS_SELLER).length;

t.test('the references join many pairs, see late events, and one input has dead letters', async (t) => {
  for (const [name, want] of Object.entries(expected)) {
    t.ok(want.results.length > 50, `${name}: ${want.results.length} pairs`);
    if (!['local-sellers', 'bids-joined'].includes(name)) t.ok(want.late!.length > 10, `${name}: ${want.late!.length} late`);
  }
  t.ok(keyless > 0, `${keyless} auctions of seller ${KEYLESS_SELLER} have no key in new-sellers`);
  const forever = ttlJoined(bids, auctions((a) => a.id), 1e12, () => null).results.length;
  t.ok(forever > expected['bids-joined'].results.length, `the TTL leaves pairs out: ${forever} pairs without it`);
});

const outputs: Record<string, string> = {};
const checkRun = (t: Test, run: Collected) => {
  t.equal(run.errors.length, keyless, 'an auction without a key is a dead letter');
  t.match(run.errors[0], { pipeline: 'new-sellers', stage: 'keyBy', code: 'ERR_KEYFLOW_MISSING_KEY', message: /the joined input 'auctions-by-seller-or-none': keyBy\(\) returned undefined/ });
  t.same([run.late['local-sellers'], run.late['bids-joined']], [undefined, undefined], 'a regular join has no late events');
  sameAsReference(t, expected, run);
};
for (const workers of [1, 2, 4]) {
  t.test(`${EVENTS} events, ${workers} worker(s): every join identical to its reference`, async (t) => {
    const run = await runEngine({ module: fixture('joins'), workers }, batchesOf(events, BATCH));
    checkRun(t, run);
    outputs[`ingest, ${workers} worker(s)`] = allResults(expected, run);
  });
}

t.test('a parallel source (NDJSON on 2 source threads) and state in LMDB (a tiny cache) give the same', async (t) => {
  const engine = await start({ module: fixture('joins'), workers: 2, sourceThreads: 2, stateBackend: 'lmdb', stateCacheKeys: 2 });
  const run: Collected = { results: {}, late: {}, errors: [], summary: undefined as never };
  for (const name of Object.keys(expected)) {
    engine.results(name).on('data', (r) => (run.results[name] ??= []).push(r));
    engine.late(name).on('data', (e) => (run.late[name] ??= []).push(e));
  }
  engine.errors().on('data', (e) => run.errors.push(e));
  const ndjson = Buffer.from(events.map((e) => JSON.stringify(e)).join('\n'));
  await engine.ingestNdjson(Readable.from([ndjson.subarray(0, 1_500_000), ndjson.subarray(1_500_000)]));
  await engine.stop();
  run.errors.sort((a, b) => a.position - b.position);
  checkRun(t, run);
  outputs['ndjson, 2 source threads, lmdb'] = allResults(expected, run);
});

t.test('sorted output is byte-identical whatever the worker count, source or state backend', async (t) => {
  const all = Object.values(outputs);
  t.equal(all.length, 4);
  for (const [run, output] of Object.entries(outputs)) t.ok(output === all[0], run);
});

t.test('a join of two ingest sources (people from one, auctions from the other) gives what it gives from one source', async (t) => {
  // Nexmark q8 (a window join of people and the auctions they open, benchmarks/workloads), events in order: the
  // join's watermark is the least of its sources', so in order it lets the same events through as one source.
  const inOrder = new NexmarkGenerator({ seed: 3 }).batch(100_000);
  const module = new URL('../benchmarks/workloads/q8-window-join.js', import.meta.url).href;
  const runs: string[][] = [];
  for (const split of [false, true]) {
    const engine = await start({ module, workers: 2 });
    const results: unknown[] = [];
    engine.results('q8-window-join').on('data', (r) => results.push(r));
    for (const batch of batchesOf(inOrder, 10_000)) {
      if (!split) await engine.ingest(batch);
      else {
        await engine.ingest(batch.filter((e) => e.kind === 'person'), { source: 'people' });
        await engine.ingest(batch.filter((e) => e.kind !== 'person'), { source: 'market' });
      }
    }
    await engine.stop();
    runs.push(results.map((r) => JSON.stringify(r)).sort());
  }
  t.ok(runs[0].length > 1_000, `${runs[0].length} results`);
  t.ok(runs[1].join('\n') === runs[0].join('\n'), `two sources: the same ${runs[1].length} results`);
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
  t.match(base().windowJoin(input, session(0)).problems(), [/session\(\) gap must be a positive integer/]);
  t.match(base().windowJoin(input, tumbling(0)).problems(), [/tumbling\(\) size must be a positive integer/]);
  t.match(base().windowJoin(input, tumbling(10), { select: 'x' as never }).problems(), [/windowJoin\(\) select must be a function/]);
  t.match(base().windowJoin(input, tumbling(10)).intervalJoin(input, { lowerMs: 0, upperMs: 1 }).problems(), [/intervalJoin\(\) after windowJoin\(\): a pipeline joins once/]);
  t.match(base().join(input, { ttlMs: 0 }).problems(), [/join\(\) needs ttlMs, a number > 0, got 0/]);
  t.match(base().join(input, {} as never).problems(), [/join\(\) needs ttlMs, a number > 0, got undefined/]);
  for (const ok of [base().intervalJoin(input, { lowerMs: -5, upperMs: 5 }), base().windowJoin(input, tumbling(10)), base().windowJoin(input, session(10)), base().join(input, { ttlMs: 10 })]) t.same(ok.problems(), []);
});
