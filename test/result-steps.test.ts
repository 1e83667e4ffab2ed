import t from 'tap';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { Bid, NexmarkEvent } from '../lib/nexmark/model.js';
import { count, pipeline, tumbling, type DeadLetter } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture, runEngine } from './helpers/collect.js';
import { allResults, batchesOf, sameAsReference, type Expected } from './helpers/compare.js';
import { reference } from './helpers/reference.js';
import { crashAndRerun } from './helpers/script.js';
import { reportedElsewhere } from '../lib/shared/ignore.js';
import { LATENESS_MS, OUT_OF_ORDER_MS, UNLUCKY } from './fixtures/result-steps.js';
import type { E } from './fixtures/result-steps-join.js';

// filter() and map() after a pipeline's stateful part run on its results, in the actor, before results
// are numbered: the same results as a plain reference that filters and maps the windows' results, for
// any worker count and across a SIGKILL; a step that throws makes a dead letter of that result alone.

const EVENTS = 20_000;
const BATCH = 1_000;
// Bids arrive up to 600 ms out of order while the pipelines allow 200 ms: some are late, on purpose.
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 9, outOfOrderMs: 600 }).batch(EVENTS);
const bids: Bid[] = events.flatMap((e) => (e.kind === 'bid' ? [e.bid] : []));

type Window = { key: number; windowStart: number; windowEnd: number; bids: number; top: number };

function windows(lateness: number): Window[] {
  return reference(bids, {
    key: (b) => b.auction,
    time: (b) => b.dateTime,
    outOfOrderMs: OUT_OF_ORDER_MS,
    lateness,
    window: { type: 'tumbling', size: 1_000 },
    aggregate: (items) => ({ bids: items.length, top: Math.max(...items.map((i) => i.value.price)) }),
  }).results as Window[];
}

const unlucky = windows(0).filter((w) => w.key % UNLUCKY === 0);
const running = new Map<number, number>();
const expected: Expected = {
  'busy-auctions': {
    results: windows(LATENESS_MS).filter((w) => w.bids >= 3).map((w) => ({ auction: w.key, at: w.windowStart, bids: w.bids, top: w.top })),
  },
  'fragile-steps': {
    results: windows(0).filter((w) => w.key % UNLUCKY !== 0 && w.bids > 1).map((w) => ({ auction: w.key, at: w.windowStart, bids: w.bids })),
  },
  'every-third-bid': {
    results: bids.flatMap((b) => {
      const n = (running.get(b.auction) ?? 0) + 1;
      running.set(b.auction, n);
      return n % 3 === 0 ? [`${b.auction}:${n}`] : [];
    }),
  },
};

t.test('filter() and map() on the results: as the reference, for 1, 2 and 4 workers', async (t) => {
  t.ok(expected['busy-auctions'].results.length > 100 && expected['every-third-bid'].results.length > 100, 'the steps keep some results');
  t.ok(windows(LATENESS_MS).length > expected['busy-auctions'].results.length, 'and drop others');
  t.ok(unlucky.length > 10, `${unlucky.length} results make a step throw`);
  const outputs: Record<number, string> = {};
  for (const workers of [1, 2, 4]) {
    const run = await runEngine({ module: fixture('result-steps'), workers }, batchesOf(events, BATCH));
    sameAsReference(t, expected, run, { late: false });
    outputs[workers] = allResults(expected, run);
    const failed = run.errors.filter((e) => e.pipeline === 'fragile-steps');
    t.equal(failed.length, unlucky.length, `${workers} workers: a dead letter for each result the map threw on, and no other`);
    t.same(failed.map((e) => e.key).sort(), unlucky.map((w) => w.key).sort(), 'each names its key');
    t.ok(failed.every((e) => e.stage === 'resultMap' && e.source === 'timer' && e.message.startsWith("map() on the results of pipeline 'fragile-steps' at timer at ")
      && /auction \d+ is unlucky/.test(e.message) && (e.event as Window).windowEnd === e.position + 1), 'each names the step, the pipeline, the window and the cause, and holds the result');
  }
  t.ok(outputs[1] === outputs[2] && outputs[2] === outputs[4], 'identical with 1, 2 and 4 workers');
});

t.test('results through the steps survive a SIGKILL and a restart with another worker count, each once', async (t) => {
  const { results, errors } = await crashAndRerun(t, fixture('result-steps'), Object.keys(expected), batchesOf(events, BATCH), { checkpointAt: 8, killAt: 14, workers: [3, 2] });
  sameAsReference(t, expected, { results, late: {} }, { late: false });
  t.ok((errors as DeadLetter[]).some((e) => e.stage === 'resultMap'), 'the rerun reports the throwing step too');
});

t.test('after a join: the steps see what select() made', async (t) => {
  // In time order: x's pair sums to 3 (filtered out), y's to 7 (70); the last is outside y's interval.
  const input: E[] = [
    { kind: 'a', k: 'x', t: 0, v: 1 }, { kind: 'a', k: 'y', t: 1, v: 3 }, { kind: 'b', k: 'y', t: 4, v: 4 },
    { kind: 'b', k: 'x', t: 5, v: 2 }, { kind: 'b', k: 'y', t: 30, v: 9 },
  ];
  const run = await runEngine({ module: fixture('result-steps-join') }, [input]);
  t.same(run.results.joined, [70], 'one pair passes the filter, mapped');
});

t.test('a filter that throws, a map that returns undefined, an async step: dead letters for those results alone', async (t) => {
  const input = [{ k: 'a', t: 1 }, { k: 'b', t: 2 }, { k: 'a', t: 3 }, { k: 'c', t: 4 }];
  const run = await runEngine({ module: fixture('result-step-faults'), workers: 2 }, [input]);
  const stageOf = (pipeline: string) => run.errors.filter((e) => e.pipeline === pipeline).map((e) => `${e.stage} ${String(e.key)}: ${e.detail}`).sort();
  t.same(run.results['throwing-filter']?.sort(), ['a:2', 'c:1'], 'the other keys\' results pass');
  t.same(stageOf('throwing-filter'), ['resultFilter b: Error: no b here']);
  t.match(run.errors.find((e) => e.pipeline === 'throwing-filter')?.message, /^filter\(\) on the results of pipeline 'throwing-filter' at timer at 9 \(key "b"\): Error: no b here/);
  t.same(run.results['undefined-map']?.sort(), ['a:2', 'c:1']);
  t.same(stageOf('undefined-map'), ['resultMap b: map() returned undefined: emit a value JSON can hold (an object, array, string, number, boolean or null)']);
  t.same(run.results['async-filter'], undefined, 'an async filter keeps nothing');
  t.same(stageOf('async-filter'), ['a', 'b', 'c'].map((k) => `resultFilter ${k}: filter() returned a promise: steps on the results must be synchronous`));

  const engine = await start({ module: fixture('result-step-faults'), pipelines: ['throwing-filter'], workers: 1, onError: 'fail' });
  await engine.ingest(input).catch(reportedElsewhere);
  await t.rejects(engine.stop(), { code: 'ERR_KEYFLOW_FAILED', message: /stopped at the first error \(onError: 'fail'\): filter\(\) on the results of pipeline 'throwing-filter'/ }, "onError: 'fail' stops the engine at a failing step");
});

t.test('after the stateful part only filter() and map() (and keyBy() or keepKey(), a new stage) may follow', async (t) => {
  const keyed = () => pipeline<{ k: string; t: number }>('p').keyBy((e) => e.k).eventTime((e) => e.t);
  t.match(keyed().process({ onEvent() {} }).window(tumbling(10)).problems(),
    [/window\(\) after process\(\): only filter\(\) and map\(\) \(on its results\), and keyBy\(\) or keepKey\(\) \(a new stage\) may follow it/]);
  t.match(keyed().window(tumbling(10)).aggregate({ n: count() }).aggregate({ m: count() }).problems(), [/aggregate\(\) after aggregate\(\)/]);
  t.match(keyed().map((e) => e).problems(), [/map\(\) must come before keyBy\(\), or after aggregate\(\), process\(\) or a join/]);
  t.match(keyed().window(tumbling(10)).aggregate({ n: count() }).filter('x' as never).problems(), [/filter\(\) needs a function/]);
  t.same(keyed().window(tumbling(10)).aggregate({ n: count() }).filter((r) => r.n > 1).map((r) => r.key).problems(), [], 'steps on the results are fine');
});
