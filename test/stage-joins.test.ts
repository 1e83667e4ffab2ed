import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { Bid, NexmarkEvent } from '../lib/nexmark/model.js';
import { count, pipeline, tumbling, type DeadLetter } from '../lib/index.js';
import { fixture, runEngine, sorted } from './helpers/collect.js';
import { start } from './helpers/start.js';
import { batchesOf } from './helpers/compare.js';
import { reference } from './helpers/reference.js';
import { crashAndRerun, runScript, scriptResults, scriptSummary } from './helpers/script.js';
import { OUT_OF_ORDER_MS, WINDOW_MS } from './fixtures/stages.js';
import { NEAR_MS, RECENT_MS, TOPS_OUT_OF_ORDER_MS, UNKEYED, UNSENDABLE } from './fixtures/stage-joins.js';

// Joins in a later stage (shuffle.ts): a join whose inputs are two pipelines' results, read with from(). Its
// watermark is the least of its inputs', in band; it takes its input in an order of the data alone. The
// results match a plain reference of the first stages and the join, identical for 1, 2 and 4 workers (the
// order a pipeline joined with itself takes its pairs in too, which first() and last() after it show),
// across a SIGKILL and a rerun with another worker count and across a rescaling with checkpoints every
// 10 ms; the right input's failures are dead letters that name it; what cannot be joined is refused.

const EVENTS = 20_000;
const BATCH = 1_000;
// Bids arrive up to 300 ms out of order while the first stages allow 200 ms: some are late, on purpose.
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 21, outOfOrderMs: 300 }).batch(EVENTS);
const bids: Bid[] = events.flatMap((e) => (e.kind === 'bid' ? [e.bid] : []));

type Window = { key: number; windowStart: number; windowEnd: number };
const perAuction = <R>(outOfOrderMs: number, aggregate: (bids: Bid[]) => R) => reference(bids, {
  key: (b) => b.auction,
  time: (b) => b.dateTime,
  outOfOrderMs,
  lateness: 0,
  window: { type: 'tumbling', size: WINDOW_MS },
  aggregate: (items) => aggregate(items.map((i) => i.value)) as Record<string, unknown>,
}).results as Array<Window & R>;
const counts = perAuction(OUT_OF_ORDER_MS, (bs) => ({ bids: bs.length }));
const tops = perAuction(TOPS_OUT_OF_ORDER_MS, (bs) => ({ top: Math.max(...bs.map((b) => b.price)) }));

/** Each auction's window of counts with its window of tops, where tops has one (its bids may all have been late). */
const topOf = new Map(tops.map((r) => [`${r.key}|${r.windowStart}`, r.top]));
const activity = counts.filter((c) => c.key % UNKEYED !== 0 && c.key % UNSENDABLE !== 0 && topOf.has(`${c.key}|${c.windowStart}`))
  .map((c) => ({ auction: c.key, windowStart: c.windowStart, bids: c.bids, top: topOf.get(`${c.key}|${c.windowStart}`) }));
const unkeyed = tops.filter((r) => r.key % UNKEYED === 0);
const unsendable = tops.filter((r) => r.key % UNKEYED !== 0 && r.key % UNSENDABLE === 0);
/** Each window of counts with the auction's windows that end 1 to NEAR_MS after it (a result's time is its window's end − 1). */
const neighbours = counts.flatMap((a) => counts
  .filter((b) => b.key === a.key && b.windowEnd - a.windowEnd >= 1 && b.windowEnd - a.windowEnd <= NEAR_MS)
  .map((b) => ({ auction: a.key, from: a.windowStart, to: b.windowStart, bids: a.bids + b.bids })));
/** Each window of counts with the tops of its auction's windows that end at most RECENT_MS before or after it. */
const recent = counts.flatMap((c) => tops
  .filter((r) => r.key === c.key && Math.abs(r.windowEnd - c.windowEnd) <= RECENT_MS)
  .map((r) => ({ auction: c.key, counted: c.windowStart, topped: r.windowStart, top: r.top })));

t.test('a join of two pipelines\' results: as the reference, identical for 1, 2 and 4 workers', async (t) => {
  t.ok(activity.length > 1_000 && neighbours.length > 100 && recent.length > activity.length && unkeyed.length > 50 && unsendable.length > 50,
    `the input exercises every case: ${activity.length} activity, ${neighbours.length} neighbours, ${recent.length} recent, ${unkeyed.length} unkeyed`);
  t.ok(counts.filter((c) => c.key % UNKEYED !== 0).length > activity.length, 'some windows of counts have none in tops, whose bids were late there');
  const outputs: string[] = [];
  for (const workers of [1, 2, 4]) {
    const run = await runEngine({ module: fixture('stage-joins'), workers }, batchesOf(events, BATCH));
    const label = `${workers} workers`;
    t.ok(sorted(run.results.activity).join('\n') === sorted(activity).join('\n'), `${label}: activity (a window join) as the reference (${run.results.activity?.length} of ${activity.length})`);
    t.ok(sorted(run.results.neighbours).join('\n') === sorted(neighbours).join('\n'), `${label}: neighbours (an interval join of a pipeline's results with themselves) as the reference (${run.results.neighbours?.length} of ${neighbours.length})`);
    t.ok(sorted(run.results.recent).join('\n') === sorted(recent).join('\n'), `${label}: recent (a regular join with a TTL) as the reference (${run.results.recent?.length} of ${recent.length})`);
    t.ok(sorted(run.results.counts).join('\n') === sorted(counts).join('\n'), `${label}: counts, which both joins read, has its results out too`);
    const failed = run.errors.filter((e: DeadLetter) => e.pipeline === 'activity' && e.stage === 'keyBy');
    t.equal(failed.length, unkeyed.length, `${label}: a keyBy() dead letter for each of the ${unkeyed.length} results of tops without a key`);
    const unsent = run.errors.filter((e: DeadLetter) => e.pipeline === 'activity' && e.code === 'ERR_KEYFLOW_BAD_VALUE');
    t.equal(unsent.length, unsendable.length, `${label}: a dead letter for each of the ${unsendable.length} results of tops that no frame can carry`);
    t.match(unsent[0]?.message, /result #\d+ of key-group \d+ of the joined input 'activity-tops' cannot be encoded/, 'it says which input the result came from');
    t.equal(run.errors.length, unkeyed.length + unsendable.length, `${label}: no other dead letter`);
    t.match(failed[0]?.message, /^keyBy\(\) of pipeline 'activity' at the earlier stage's results at time \d+: the joined input 'activity-tops': Error: auction \d+ has no key here/, 'the dead letter names the pipeline, the stage and the input');
    t.same(run.late.activity ?? [], [], `${label}: nothing reaches the join late (a window's result is on time for the next stage)`);
    outputs.push(['activity', 'neighbours', 'recent', 'pairs'].map((name) => sorted(run.results[name]).join('\n')).join('\n'));
  }
  t.ok(outputs.every((o) => o === outputs[0]), 'the same results with 1, 2 and 4 workers, the order pairs of a pipeline joined with itself came in included');
});
t.test('a join of two pipelines\' results across a SIGKILL and a rerun with another worker count: every result once', async (t) => {
  for (const workers of [[3, 2], [1, 4]] as Array<[number, number]>) {
    const { results } = await crashAndRerun(t, fixture('stage-joins'), ['activity', 'neighbours', 'recent'], batchesOf(events, BATCH), { checkpointAt: 8, killAt: 15, workers });
    t.ok(sorted(results.activity).join('\n') === sorted(activity).join('\n'), `${workers.join(' → ')} workers: activity as the reference, each result once`);
    t.ok(sorted(results.neighbours).join('\n') === sorted(neighbours).join('\n'), `${workers.join(' → ')} workers: neighbours as the reference, each result once`);
    t.ok(sorted(results.recent).join('\n') === sorted(recent).join('\n'), `${workers.join(' → ')} workers: recent as the reference, each result once`);
  }
});

t.test('a join of two pipelines\' results rescaled 4 → 2 → 3 workers, checkpoints every 10 ms, a SIGKILL in each phase: every result once', async (t) => {
  // Barriers every few milliseconds reach the join's actors before results of both inputs sent ahead of them
  // by other actors: a snapshot must hold those (aligned barriers), or the rerun would miss them.
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-stage-joins-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const steps = batchesOf(events, BATCH).map((ingest, seq) => ({ ingest, seq }));
  const options = { module: fixture('stage-joins'), stateDir: join(dir, 'state'), snapshotEveryMs: 10 };
  for (const [workers, upTo] of [[4, 7], [2, 14]]) {
    const crashed = await runScript(dir, { ...options, workers }, [...steps.slice(0, upTo), { kill: true }]);
    t.equal(crashed.signal, 'SIGKILL', `${workers} workers killed after batch ${upTo} ${crashed.stderr}`);
  }
  const last = await runScript(dir, { ...options, workers: 3 }, steps);
  t.equal(last.code, 0, `3 workers ended well ${last.stderr}`);
  t.ok(scriptSummary(dir).recovery.checkpoint !== null, 'the last run restored a checkpoint');
  for (const [name, expected] of [['activity', activity], ['neighbours', neighbours], ['recent', recent]] as const) {
    t.ok(sorted(scriptResults(dir, name)).join('\n') === sorted(expected).join('\n'), `${name} as the reference, each result once`);
  }
});

t.test('what a join of results cannot be is refused with why', async (t) => {
  const keyed = (name: string) => pipeline<{ k: string; t: number }>(name).keyBy((e) => e.k).eventTime((e) => e.t);
  const results = (name: string) => keyed(name).window(tumbling(10)).aggregate({ n: count() });
  const reading = (name: string) => pipeline(name).from(results(`${name}-source`)).keyBy((r) => r.key);
  t.same(reading('j').join(reading('r'), { ttlMs: 10 }).problems(), [], 'two inputs that read results');
  t.same(results('a').keyBy((r) => r.key).join(reading('r'), { ttlMs: 10 }).problems(), [], 'the next stage of one pipeline with another\'s results');
  t.match(reading('j').join(keyed('o'), { ttlMs: 10 }).problems(), [/join\(\) input 'o': one input reads the sources and the other a pipeline's results/]);
  t.match(keyed('j').join(reading('r'), { ttlMs: 10 }).problems(), [/join\(\) input 'r': one input reads the sources and the other a pipeline's results/]);
  t.match(results('a').keepKey().join(reading('r'), { ttlMs: 10 }).problems(), [/join\(\) after keepKey\(\)/]);
  t.match(reading('j').join(results('b').keyBy((r) => r.key), { ttlMs: 10 }).problems(), [/join\(\) input 'b' takes its input with from\(\): pipeline\('b'\)\.from\(results\)/]);
  const j = reading('j');
  const back = j.window(tumbling(10)).aggregate({ n: count() });
  t.same(reading('k').join(pipeline('r').from(back).keyBy((r) => r.key), { ttlMs: 10 }).problems(), [], 'a join may read a pipeline that reads results too');
  const self = reading('s');
  t.match(self.join(pipeline('r').from(self as never).keyBy(() => 1), { ttlMs: 10 }).problems(), [/join\(\) input 'r' reads this pipeline's own results/]);
  t.match(reading('j').join(reading('r').window(tumbling(10)).aggregate({ n: count() }), { ttlMs: 10 }).problems(), [/join\(\) input 'r' may only have from\(\), filter\(\), map\(\), keyBy\(\)/]);
  const timed = reading('j').join(reading('r').eventTime(() => 1, { outOfOrderMs: 5 }), { ttlMs: 10 }).problems();
  t.match(timed, [/join\(\) input 'r': pipeline 'r': eventTime\(\) in a later stage/]);
  t.notOk(timed.some((p) => p.includes('give eventTime() options')), 'nor is it told to move eventTime() options to the join, which has none either');

  // Loops through joins are refused, by start() too, not overflowing the stack.
  const j1 = reading('j1');
  const j2 = reading('j2');
  j1.join(pipeline('r1').from(j2).keyBy((r) => r.key), { ttlMs: 10 });
  j2.join(pipeline('r2').from(j1).keyBy((r) => r.key), { ttlMs: 10 });
  t.match(j1.problems(), [/join\(\) input 'r1' reads this pipeline's own results/], 'two joins whose other inputs read each other');
  await t.rejects(start({ pipelines: [j1] }), /join\(\) input 'r1' reads this pipeline's own results/);
  const k = reading('k');
  const readsK = pipeline('j').from(k).keyBy((r) => r.key).window(tumbling(10)).aggregate({ n: count() });
  k.join(pipeline('r').from(readsK).keyBy((r) => r.key), { ttlMs: 10 });
  t.match(k.problems(), [/join\(\) input 'r' reads this pipeline's own results/], 'a join whose other input reads a pipeline that reads the join');
  await t.rejects(start({ pipelines: [readsK] }), /join\(\) input 'r' reads this pipeline's own results/);
});
