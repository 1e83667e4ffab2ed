import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture, runEngine } from './helpers/collect.js';
import { KeyedProcessOperator } from '../lib/actor-thread/operators/keyed-process-operator.js';
import { KeyedStore } from '../lib/actor-thread/state/keyed-store.js';
import { intervalJoinFunction } from '../lib/pipeline/interval-join.js';
import { regularJoinFunction } from '../lib/pipeline/regular-join.js';
import { LEFT, RIGHT } from '../lib/pipeline/join-input.js';
import type { ProcessFunction } from '../lib/pipeline/process-function.js';

const edges = fixture('join-edges');

t.test("a left input that throws on an event the right input selects does not take it away", async (t) => {
  const run = await runEngine({ module: edges, workers: 1 }, [[{ kind: 'a', k: 'x', t: 1000, v: 1 }, { kind: 'b', k: 'x', t: 1050, v: 2 }]]);
  t.same(run.errors.filter((e) => e.pipeline === 'left-throws'), [], 'no dead letter: the event is the right input\'s');
  t.equal(run.results['left-throws']?.length, 1, 'the pair (a at 1000, b at 1050) is joined');
  const neither = await runEngine({ module: edges, workers: 1, pipelines: ['left-throws'] }, [[{ kind: 'c', k: 'x', t: 1000 }]]);
  t.match(neither.errors, [{ pipeline: 'left-throws', stage: 'filter', code: 'ERR_KEYFLOW_USER_FUNCTION' }], 'an event no input selects reports the left input\'s failure');
});

t.test('a select that fails for one pair is a dead letter for that pair alone', async (t) => {
  const events = [
    { kind: 'b', k: 'x', t: 1000, v: 666 }, // kept; select throws for its pairs
    { kind: 'a', k: 'x', t: 1000, v: 1 }, // pairs with 666 (a dead letter), and later with 7 and 0
    { kind: 'b', k: 'x', t: 1020, v: 7 },
    { kind: 'b', k: 'x', t: 1030, v: 0 }, // select returns undefined
  ];
  const run = await runEngine({ module: edges, workers: 1, pipelines: ['select-throws'] }, [events]);
  t.same(run.results['select-throws'], ['1-7'], 'the left event stayed kept and joined the next right one');
  t.match(run.errors, [
    { stage: 'select', message: /select\(\) of pipeline 'select-throws' at ingest event #1 \(key "x"\): Error: bad pair/, event: { left: events[1], right: events[0] } },
    { stage: 'select', message: /select\(\) returned undefined/, event: { left: events[1], right: events[3] } },
  ]);
  t.equal(run.errors.length, 2);
});

t.test('fractional times and bounds: kept events are dropped once nothing can join them', async (t) => {
  const engine = await start({ module: edges, workers: 1, pipelines: ['fractional', 'fractional-ttl'] });
  const results: Record<string, unknown[]> = { fractional: [], 'fractional-ttl': [] };
  for (const name of Object.keys(results)) engine.results(name).on('data', (r) => results[name].push(r));
  await engine.ingest([{ kind: 'a', k: 'x', t: 0.1, v: 1 }, { kind: 'b', k: 'x', t: 0.3, v: 2 }]);
  await engine.ingest([{ kind: 'a', k: 'y', t: 10_000, v: 3 }]);
  await engine.ingest([{ kind: 'a', k: 'y', t: 20_000, v: 4 }]); // the watermark moves far past x's events
  try {
    for (const name of Object.keys(results)) t.same(await engine.query(name, 'x'), undefined, `${name}: key x keeps nothing`);
  } finally {
    await engine.stop();
  }
  t.equal(results.fractional.length, 1, 'b at 0.3 is within 0.2 of a at 0.1');
  t.equal(results['fractional-ttl'].length, 1, 'b at 0.3 comes while a at 0.1 is kept');
});

t.test('a cleanup timer drops the kept events it is due for and keeps the later ones', async (t) => {
  // Bids (the left input, 200 ms out of order) on an auction are kept until the watermark passes their time:
  // bids at 900 and 1150 share no cleanup timer (1000 and 2000), and both are kept when the first fires.
  const engine = await start({ module: fixture('joins'), workers: 1, pipelines: ['bids-after-opening'] });
  const bid = (auction: number, dateTime: number) => ({ kind: 'bid', bid: { auction, bidder: 1, price: 10, channel: 'c', url: 'u', dateTime, extra: '' } });
  const kept = async () => {
    const state = await engine.query('bids-after-opening', 7) as { maps: { left?: Array<[number, unknown[]]> } } | undefined;
    return (state?.maps.left ?? []).map(([time]) => time);
  };
  try {
    await engine.ingest([bid(7, 900), bid(7, 1150)]);
    t.same(await kept(), [900, 1150], 'both kept (the watermark is below 1000)');
    await engine.ingest([bid(8, 1250)]); // the watermark passes 1000, not 2000
    t.same(await kept(), [1150], 'the timer at 1000 dropped the bid at 900 alone');
    await engine.ingest([bid(8, 2300)]);
    t.same(await kept(), [], 'and the one at 2000 the other');
  } finally {
    await engine.stop();
  }
});

t.test('at the end of input a join\'s expiry timers do not fire; any other timer does', async (t) => {
  const fired: unknown[] = [];
  const out = { result: (_kg: number, r: unknown) => fired.push(r), late: () => {}, touch: () => {}, problem: () => {} };
  /** One left and one right event of key x, then the watermark to `wm`: what the key keeps then. */
  const run = (fn: ProcessFunction, wm: number) => {
    fired.length = 0;
    const op = new KeyedProcessOperator(fn, out, () => new KeyedStore(1), true);
    op.onEvent(0, 'x', 'x', 1000, 0, 0, 0, 0, [LEFT, 'a']);
    op.onEvent(0, 'x', 'x', 1010, 0, 0, 1, 1, [RIGHT, 'b']);
    op.advanceWatermark(wm);
    return op.query(0, 'x') as { maps: Record<string, unknown> } | undefined;
  };
  for (const [name, fn] of [['join', () => regularJoinFunction(100)], ['intervalJoin', () => intervalJoinFunction(0, 50)]] as const) {
    t.equal(run(fn(), 5000), undefined, `${name}: a watermark past the kept events' expiry drops them`);
    t.equal(fired.length, 1, `${name}: the pair joined`);
    t.same(run(fn(), Infinity)?.maps, { left: [[1000, ['a']]], right: [[1010, ['b']]] }, `${name}: the end of input (+∞) leaves both kept`);
    t.equal(fired.length, 1, `${name}: the pair joined, and nothing else fired`);
  }
  const emitting: ProcessFunction = { onEvent(_e, ctx) { ctx.timers.registerEventTime(2000); }, onTimer(time, ctx) { ctx.emit(time); } };
  run(emitting, Infinity);
  t.same(fired, [2000], 'a timer of a function not marked fires at the end of input');
});

t.test('a join resumed after stop() joins with what the stopped run kept', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-join-resume-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const options = { module: edges, workers: 2, pipelines: ['join-with-exported'], stateDir: dir };
  const first = await start(options);
  await first.ingest([{ kind: 'a', k: 'x', t: 1000, v: 1 }]);
  await first.stop();
  const second = await start(options);
  const results: unknown[] = [];
  second.results('join-with-exported').on('data', (r: unknown) => results.push(r));
  await second.ingest([{ kind: 'b', k: 'x', t: 1050, v: 2 }]);
  await second.stop();
  t.same(results, ['1-2'], 'the left event kept when the first run ended joins the right one of the second');
});

t.test("a join's other input that is exported too runs as a pipeline of its own, and the join is unchanged", async (t) => {
  const run = await runEngine({ module: edges, workers: 2, pipelines: ['join-with-exported', 'rights-exported'] },
    [[{ kind: 'a', k: 'x', t: 1000, v: 1 }, { kind: 'b', k: 'x', t: 1050, v: 2 }, { kind: 'b', k: 'y', t: 1060, v: 3 }]]);
  t.same(run.errors, []);
  t.same(run.results['join-with-exported'], ['1-2']);
  t.equal(run.results['rights-exported']?.length, 2, 'the exported input passes its two events through');
});

t.test('joins that cannot be run are refused as configuration errors', async (t) => {
  interface K { k: string; t: number }
  const keyed = (name: string) => pipeline<K>(name, { module: import.meta.url }).keyBy((e) => e.k).eventTime((e) => e.t);
  const self = keyed('self');
  self.intervalJoin(self, { lowerMs: 0, upperMs: 10 });
  t.match(self.problems(), [/intervalJoin\(\) of a pipeline with itself: join two pipelines/]);
  await t.rejects(start({ pipelines: [self], workers: 1 }), { code: 'ERR_KEYFLOW_CONFIG' });
  const a = keyed('a');
  const b = keyed('b');
  a.join(b, { ttlMs: 10 });
  b.join(a, { ttlMs: 10 });
  t.match(a.problems(), [/join\(\) input 'b' may only have filter\(\), map\(\), keyBy\(\) and eventTime\(\)/], 'two pipelines joining each other');
  const timed = pipeline<K>('timed', { module: import.meta.url }).keyBy((e) => e.k).eventTime((e) => e.t, { outOfOrderMs: 5_000 });
  t.match(keyed('left').join(timed, { ttlMs: 10 }).problems(), [/join\(\) input 'timed': give eventTime\(\) options \(outOfOrderMs, idleAfterMs\) to the join pipeline/]);
});
