import t from 'tap';
import { AggregateSet } from '../lib/pipeline/aggregates/aggregate-set.js';
import { avg, count, distinctCount, first, last, max, min, sum, topCount } from '../lib/index.js';
import { fixture, runEngine, sorted } from './helpers/collect.js';
import { addedAndMerged } from './helpers/aggregate-merge.js';

const ev = (k: string, time: number, v: number, c: string) => ({ k, t: time, v, c });

t.test('every built-in aggregate, and a user aggregate, in the engine', async (t) => {
  // Arrival order differs from event-time order: first/last follow arrival.
  const events = [ev('a', 50, 3, 'r'), ev('a', 10, 1, 'g'), ev('b', 5, -5, 'x'), ev('a', 30, 2, 'r'), ev('a', 20, 4, 'b')];
  const run = await runEngine({ module: fixture('aggregates'), pipelines: ['all-aggregates'], workers: 2 }, [events]);
  t.same(sorted(run.results['all-aggregates']), sorted([
    { key: 'a', windowStart: 0, windowEnd: 100, count: 4, sum: 10, min: 1, max: 4, avg: 2.5, first: 'r', last: 'b', colours: 3, product: 24 },
    { key: 'b', windowStart: 0, windowEnd: 100, count: 1, sum: -5, min: -5, max: -5, avg: -5, first: 'x', last: 'x', colours: 1, product: -5 },
  ]));
});

t.test('first/last keep arrival order when session windows merge', async (t) => {
  // [20,30) then [0,10); the event at 10 bridges them into [0,30). First to arrive was 'x', last 'z'.
  const events = [ev('a', 20, 1, 'x'), ev('a', 0, 2, 'y'), ev('a', 10, 3, 'z')];
  const run = await runEngine({ module: fixture('aggregates'), pipelines: ['session-order'], workers: 1 }, [events]);
  t.same(run.results['session-order'], [{ key: 'a', windowStart: 0, windowEnd: 30, first: 'x', last: 'z', n: 3, sum: 6 }]);
});

t.test('merging accumulators equals adding everything to one', async (t) => {
  const set = new AggregateSet({
    count: count(), sum: sum((v: number) => v), min: min((v: number) => v), max: max((v: number) => v), avg: avg((v: number) => v),
    first: first((v: number) => v), last: last((v: number) => v), distinct: distinctCount((v: number) => v % 3),
  });
  const { one: a, merged: b } = addedAndMerged(t, set, [5, -2, 9, 9, 0, 3.5, -7, 11], (seq) => (seq < 3 ? 0 : 1));
  t.same(b, a);
  // 5 - 2 + 9 + 9 + 0 + 3.5 - 7 + 11 = 28.5; residues mod 3: 2, -2, 0, 0.5, -1
  t.same(a, { count: 8, sum: 28.5, min: -7, max: 11, avg: 28.5 / 8, first: 5, last: 11, distinct: 5 });
});

t.test("a window pane's inputs added in one run leave each accumulator as adding its events one by one does", async (t) => {
  type E = { v: number; c: string };
  const set = new AggregateSet({
    n: count(), sum: sum((e: E) => e.v), avg: avg((e: E) => e.v), min: min((e: E) => e.v), max: max((e: E) => e.v),
    first: first((e: E) => e.c), last: last((e: E) => e.c), distinct: distinctCount((e: E) => e.c), top: topCount(2, (e: E) => e.c),
  });
  // Sums of these depend on the order they are added in (0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 differ; 1e16 swallows a 1).
  const values = [0.1, 0.2, 0.3, 1e16, 1, -1e16, -0, 0, 2.5, 0.7, -3, 7];
  const events: E[] = values.map((v, i) => ({ v, c: 'xyzx'[i % 4] }));
  // Two windows, one holding earlier events already (a sliding window's pane goes into several).
  const earlier = { v: 0.3, c: 'w' };
  const byEvent = [set.create(), set.create()];
  const byRun = [set.create(), set.create()];
  t.equal(set.extract(earlier), null);
  set.addAll([byEvent[0]], 0);
  set.addAll([byRun[0]], 0);
  const inputs: unknown[] = [];
  events.forEach((e, i) => {
    t.equal(set.extract(e), null);
    set.addAll(byEvent, 1 + i);
    inputs.push(...set.extractInputs(e)!);
  });
  set.addInputs(byRun, { count: events.length, inputs: ['before', ...inputs], at: 1 }, 1);
  t.same(byRun, byEvent, 'the same accumulators');
  for (let w = 0; w < 2; w++) {
    const [a, b]: Array<Record<string, unknown>> = [{}, {}];
    set.writeResults(byRun[w], a);
    set.writeResults(byEvent[w], b);
    t.strictSame(a, b, `window ${w}: the same results`);
    t.ok(Object.is(a.sum, b.sum) && Object.is(a.avg, b.avg) && Object.is(a.min, b.min), `window ${w}: sum ${a.sum as number}, avg and min bit for bit`);
  }
  t.not(values.reduce((x, y) => x + y, 0), [...values].reverse().reduce((x, y) => x + y, 0), 'the test sees sums that depend on order');
});

t.test('numeric pane inputs in a float64 block, and a built-in of an older keyflow (no addRun), add up as event by event', async (t) => {
  type E = { v: number };
  const older = { ...sum((e: E) => e.v) } as Partial<ReturnType<typeof sum>>;
  delete older.addRun;
  const set = new AggregateSet({ n: count(), total: sum((e: E) => e.v), older: older as ReturnType<typeof sum>, low: min((e: E) => e.v), mean: avg((e: E) => e.v) });
  const values = [0.1, 0.2, 0.3, 1e16, 1, -1e16, 2.5];
  const byEvent = set.create();
  const block = new Float64Array(1 + values.length * 4);
  block[0] = values.length;
  values.forEach((v, i) => {
    t.equal(set.extract({ v }), null);
    set.addAll([byEvent], i);
    block.set(set.extractInputs({ v }) as number[], 1 + i * 4);
  });
  const byRun = set.create();
  set.addInputs([byRun], { count: values.length, inputs: block, at: 1 }, 0);
  t.same(byRun, byEvent);
  t.ok(Object.is(byRun[1], byEvent[1]) && Object.is(byRun[2], byEvent[2]), `the sums bit for bit (${byRun[1] as number})`);
});

t.test('empty accumulators give null where there is no value', async (t) => {
  const set = new AggregateSet({ min: min((v: number) => v), max: max((v: number) => v), avg: avg((v: number) => v), first: first((v: number) => v), n: count() });
  const r: Record<string, unknown> = {};
  set.writeResults(set.create(), r);
  t.same(r, { min: null, max: null, avg: null, first: null, n: 0 });
});

t.test('a bad value or a throwing add changes no accumulator', async (t) => {
  let calls = 0;
  const set = new AggregateSet({
    n: count(),
    total: sum((e: { v: unknown }) => e.v as number),
    picky: { init: () => 0, add: (acc: number, e: { v: unknown }) => { calls++; if (e.v === 13) throw new Error('unlucky'); return acc + 1; }, result: (acc: number) => acc },
  });
  const acc = set.create();
  t.equal(set.extract({ v: 1 }), null);
  set.addAll([acc], 0);
  const bad = set.extract({ v: 'seven' });
  t.match(bad, { kind: 'value', message: /total: sum\(\) needs a number, got string "seven"/ });
  t.equal(set.extract({ v: 13 }), null);
  t.throws(() => set.addAll([acc], 1), /unlucky/);
  t.same(acc, [1, 1, 1], 'count, sum and the user aggregate are unchanged by the failed add');
  t.equal(calls, 2);
  t.same(set.unmergeable(), ['picky'], 'a user aggregate without merge() is reported as unmergeable');
});
