import t from 'tap';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { alignDown } from '../lib/pipeline/windows/window.js';
import { pipeline, session, tumbling } from '../lib/index.js';
import { fixture, runEngine } from './helpers/collect.js';
import { allResults, batchesOf, sameAsReference, type Expected } from './helpers/compare.js';
import { crashAndRerun } from './helpers/script.js';
import { OUT_OF_ORDER_MS } from './fixtures/window-joins.js';

const EVENTS = 40_000;
const BATCH = 2_000;
// Events arrive up to 800 ms out of order while the joins allow 200 ms: some are late, on purpose.
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 8, outOfOrderMs: 800 }).batch(EVENTS);

interface Input { is: (e: NexmarkEvent) => boolean; key: (e: NexmarkEvent) => unknown; time: (e: NexmarkEvent) => number; value: (e: NexmarkEvent) => any }

/**
 * A window join written plainly: the watermark before each event is the largest time of either input so
 * far, less the bound, less 1; an event goes into each of its windows whose end − 1 is past that watermark
 * (one with none is late); every left and right event of one key in one window make a pair.
 */
function windowJoined(left: Input, right: Input, size: number, slide: number, select: (l: any, r: any, w: { key: unknown; windowStart: number; windowEnd: number }) => unknown) {
  const windows = new Map<string, { key: unknown; start: number; sides: [unknown[], unknown[]] }>();
  const late: unknown[] = [];
  let largest = -Infinity;
  for (const e of events) {
    if (!left.is(e) && !right.is(e)) continue;
    const side = left.is(e) ? 0 : 1;
    const input = side === 0 ? left : right;
    const key = input.key(e);
    const time = input.time(e);
    const wm = largest - OUT_OF_ORDER_MS - 1;
    largest = Math.max(largest, time);
    let joined = false;
    for (let start = alignDown(time, slide); start > time - size; start -= slide) {
      if (start + size - 1 <= wm) continue;
      joined = true;
      const id = `${String(key)}|${start}`;
      if (!windows.has(id)) windows.set(id, { key, start, sides: [[], []] });
      windows.get(id)!.sides[side].push(input.value(e));
    }
    if (!joined) late.push(input.value(e));
  }
  const results: unknown[] = [];
  for (const { key, start, sides: [lefts, rights] } of windows.values()) {
    for (const l of lefts) for (const r of rights) results.push(select(l, r, { key, windowStart: start, windowEnd: start + size }));
  }
  return { results, late };
}

const auction: Omit<Input, 'key'> = { is: (e) => e.kind === 'auction', time: (e) => (e.kind === 'auction' ? e.auction.dateTime : NaN), value: (e) => (e.kind === 'auction' ? e.auction : null) };
const expected: Expected = {
  'new-sellers-window': windowJoined(
    { is: (e) => e.kind === 'person', key: (e) => (e.kind === 'person' ? e.person.id : null), time: (e) => (e.kind === 'person' ? e.person.dateTime : NaN), value: (e) => (e.kind === 'person' ? e.person : null) },
    { ...auction, key: (e) => (e.kind === 'auction' ? e.auction.seller : null) },
    1_000, 1_000, (p, a, w) => ({ id: p.id, name: p.name, auction: a.id, reserve: a.reserve, windowStart: w.windowStart })),
  'bids-with-auction': windowJoined(
    { is: (e) => e.kind === 'bid', key: (e) => (e.kind === 'bid' ? e.bid.auction : null), time: (e) => (e.kind === 'bid' ? e.bid.dateTime : NaN), value: (e) => (e.kind === 'bid' ? e.bid : null) },
    { ...auction, key: (e) => (e.kind === 'auction' ? e.auction.id : null) },
    600, 200, (left, right, w) => ({ ...w, left, right })),
};

t.test('the reference joins many pairs and sees late events', async (t) => {
  for (const [name, want] of Object.entries(expected)) {
    t.ok(want.results.length > 100, `${name}: ${want.results.length} pairs`);
    t.ok(want.late!.length > 10, `${name}: ${want.late!.length} late`);
  }
});

const outputs: Record<number, string> = {};
for (const workers of [1, 2, 4]) {
  t.test(`${EVENTS} events, ${workers} worker(s): window joins identical to the reference`, async (t) => {
    const run = await runEngine({ module: fixture('window-joins'), workers }, batchesOf(events, BATCH));
    t.same(run.errors, []);
    sameAsReference(t, expected, run);
    outputs[workers] = allResults(expected, run);
  });
}

t.test('sorted output is byte-identical with 1, 2 and 4 workers', async (t) => {
  t.equal(Object.keys(outputs).length, 3);
  for (const workers of [2, 4]) t.ok(outputs[workers] === outputs[1], `${workers} workers`);
});

t.test('window join state survives a SIGKILL and a restart with another worker count', async (t) => {
  const { results, errors } = await crashAndRerun(t, fixture('window-joins'), Object.keys(expected), batchesOf(events, BATCH), { checkpointAt: 11, killAt: 16, workers: [2, 4] });
  t.same(errors, []);
  sameAsReference(t, expected, { results, late: {} }, { late: false });
});

t.test('a window join that cannot work is refused with what is wrong', async (t) => {
  const input = pipeline('input').keyBy((e: { k: string }) => e.k).eventTime((e: { t: number }) => e.t);
  const base = () => pipeline('j').keyBy((e: { k: string }) => e.k).eventTime((e: { t: number }) => e.t);
  t.match(base().windowJoin(input, session(10)).problems(), [/windowJoin\(\) takes tumbling\(\) or sliding\(\) windows/]);
  t.match(base().windowJoin(input, tumbling(0)).problems(), [/tumbling\(\) size must be a positive integer/]);
  t.match(base().windowJoin(input, tumbling(10), { select: 'x' as never }).problems(), [/windowJoin\(\) select must be a function/]);
  t.match(base().windowJoin(input, tumbling(10)).intervalJoin(input, { lowerMs: 0, upperMs: 1 }).problems(), [/intervalJoin\(\) after windowJoin\(\): a pipeline joins once/]);
  t.same(base().windowJoin(input, tumbling(10)).problems(), []);
});
