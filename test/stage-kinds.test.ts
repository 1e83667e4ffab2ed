import t, { type Test } from 'tap';
import { Readable } from 'node:stream';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { Auction, Bid, NexmarkEvent } from '../lib/nexmark/model.js';
import { bounded, count, pipeline } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture, runEngine, sorted, type Collected } from './helpers/collect.js';
import { batchesOf } from './helpers/compare.js';
import { reference } from './helpers/reference.js';
import { crashAndRerun } from './helpers/script.js';
import { BUCKETS, CATEGORY_WINDOW_MS, CLOSE_MS, LATENESS_MS, OUT_OF_ORDER_MS, WINDOW_MS } from './fixtures/stage-kinds.js';

// Stages after a join and after a window with allowed lateness, and a process() in a later stage (see the
// fixture). The join's pairs and the first stage's firings are on time for the next stage; re-firings within
// allowed lateness are late there, decided by the producer: the same for any worker count and timing.

const EVENTS = 20_000;
const BATCH = 1_000;

// No event behind the join's watermark: every pair of a bid and its open auction joins.
const joinEvents: NexmarkEvent[] = new NexmarkGenerator({ seed: 8, outOfOrderMs: OUT_OF_ORDER_MS }).batch(EVENTS);
const auctions = new Map(joinEvents.flatMap((e) => (e.kind === 'auction' ? [[e.auction.id, e.auction] as [number, Auction]] : [])));
const openBids = new Map<number, Bid[]>();
for (const e of joinEvents) {
  if (e.kind !== 'bid') continue;
  const a = auctions.get(e.bid.auction);
  if (a === undefined || e.bid.dateTime < a.dateTime || e.bid.dateTime > a.dateTime + CLOSE_MS) continue;
  openBids.set(a.id, [...(openBids.get(a.id) ?? []), e.bid]);
}
/** Per auction with a bid while open: the window it bounds, its category, its top bid, how many bids. */
const winning = [...openBids].map(([id, bids]) => {
  const a = auctions.get(id)!;
  return { key: id, windowStart: a.dateTime, windowEnd: a.dateTime + CLOSE_MS + 1, category: a.category, top: Math.max(...bids.map((b) => b.price)), bids: bids.length };
});
/** Per category and window of closing time (a closed auction's time is its window's end − 1). */
const byCategory = new Map<string, typeof winning>();
for (const w of winning) {
  const id = `${w.category}|${Math.floor((w.windowEnd - 1) / CATEGORY_WINDOW_MS)}`;
  byCategory.set(id, [...(byCategory.get(id) ?? []), w]);
}
const categories = [...byCategory.values()].map((ws) => {
  const windowStart = Math.floor((ws[0].windowEnd - 1) / CATEGORY_WINDOW_MS) * CATEGORY_WINDOW_MS;
  return { key: ws[0].category, windowStart, windowEnd: windowStart + CATEGORY_WINDOW_MS, auctions: ws.length, avgTop: ws.reduce((n, w) => n + w.top, 0) / ws.length };
});

// Bids up to 400 ms out of order against 200 ms allowed, and 150 ms of allowed lateness: windows re-fire.
const tallyEvents: NexmarkEvent[] = new NexmarkGenerator({ seed: 9, outOfOrderMs: 400 }).batch(EVENTS);
const tallyBids = tallyEvents.flatMap((e) => (e.kind === 'bid' ? [e.bid] : []));
const firstStage = reference(tallyBids, {
  key: (b) => b.auction,
  time: (b) => b.dateTime,
  outOfOrderMs: OUT_OF_ORDER_MS,
  lateness: LATENESS_MS,
  window: { type: 'tumbling', size: WINDOW_MS },
  aggregate: (items) => ({ bids: items.length }),
}).results as Array<{ key: number; windowStart: number; bids: number }>;
/** Windows that fired when the watermark passed them: some bid came before it did. */
const fired = new Set<string>();
let maxTime = -Infinity;
for (const b of tallyBids) {
  const start = Math.floor(b.dateTime / WINDOW_MS) * WINDOW_MS;
  if (start + WINDOW_MS - 1 > maxTime - OUT_OF_ORDER_MS - 1) fired.add(`${b.auction}|${start}`);
  maxTime = Math.max(maxTime, b.dateTime);
}
/**
 * The first stage's results as the second takes them in, and which are re-firings: a window's results
 * after its first, and the first too if a late bid made it (none came before the watermark passed).
 */
const refirings = new Set<string>();
const taken = firstStage.map((r, i) => {
  const id = JSON.stringify({ auction: r.key, windowStart: r.windowStart, bids: r.bids });
  const earlier = firstStage.slice(0, i).some((q) => q.key === r.key && q.windowStart === r.windowStart);
  if (earlier || !fired.has(`${r.key}|${r.windowStart}`)) refirings.add(id);
  return id;
});

/** The process() stage's output on 1 worker (the first test), which every other run must give. */
let tallyReference: string[] = [];

type Tallied = { bucket: number; n?: number; auction?: number; windowStart?: number; bids?: number; late?: boolean; timer?: number; taken?: number };

function checkJoinStages(t: Test, run: Pick<Collected, 'results' | 'errors'>, label: string): void {
  t.ok(sorted(run.results.winning).join('\n') === sorted(winning).join('\n'), `${label}: winning (a stage after a join) as the reference (${winning.length} auctions)`);
  t.ok(sorted(run.results.categories).join('\n') === sorted(categories).join('\n'), `${label}: categories (three stages after a join) as the reference (${categories.length})`);
}

function checkTally(t: Test, out: Tallied[] | undefined, label: string): void {
  const records = (out ?? []).filter((r) => r.timer === undefined);
  t.ok(sorted(records.map((r) => ({ auction: r.auction, windowStart: r.windowStart, bids: r.bids }))).join('\n') === [...taken].sort().join('\n'),
    `${label}: the process() stage took in every result of the first stage, re-firings included (${taken.length})`);
  const late = records.filter((r) => r.late);
  t.equal(late.length, refirings.size, `${label}: the ${refirings.size} re-firings, and only they, came late`);
  t.ok(late.every((r) => refirings.has(JSON.stringify({ auction: r.auction, windowStart: r.windowStart, bids: r.bids }))), `${label}: what came late is a re-firing`);
  for (let bucket = 1; bucket <= BUCKETS; bucket++) {
    const ns = records.filter((r) => r.bucket === bucket).map((r) => r.n!).sort((a, b) => a - b);
    if (!ns.every((n, i) => n === i + 1)) return void t.fail(`${label}: bucket ${bucket} numbers its input 1, 2, 3, …`);
  }
  t.ok((out ?? []).some((r) => r.timer !== undefined), `${label}: event-time timers fire in the later stage`);
}

t.test('stages after a join, and a process() stage after re-firings: as the reference, identical for 1, 2 and 4 workers', async (t) => {
  t.ok(winning.length > 300 && categories.length > 20 && refirings.size > 50, `the input exercises every case: ${winning.length}, ${categories.length}, ${refirings.size}`);
  const lastTime = Math.max(...joinEvents.map((e) => (e.kind === 'bid' ? e.bid.dateTime : 0)));
  t.ok(winning.filter((w) => w.windowEnd + OUT_OF_ORDER_MS < lastTime).length > winning.length / 2, 'most auctions close before the end of input, by the watermark');
  const outputs: string[] = [];
  for (const workers of [1, 2, 4]) {
    const joined = await runEngine({ module: fixture('stage-kinds'), pipelines: ['winning', 'categories'], workers }, batchesOf(joinEvents, BATCH));
    checkJoinStages(t, joined, `${workers} workers`);
    t.same(joined.errors, [], `${workers} workers: no dead letter`);
    const tallied = await runEngine({ module: fixture('stage-kinds'), pipelines: ['tally'], workers }, batchesOf(tallyEvents, BATCH));
    checkTally(t, tallied.results.tally, `${workers} workers`);
    outputs.push([sorted(joined.results.winning), sorted(joined.results.categories), sorted(tallied.results.tally)].flat().join('\n'));
    if (workers === 1) tallyReference = sorted(tallied.results.tally);
  }
  t.ok(outputs.every((o) => o === outputs[0]), 'the same output, numbering and lateness in the process() stage included, with 1, 2 and 4 workers');
});

t.test('from a parallel source: the process() stage after re-firings gives the same output', async (t) => {
  const tally = await start({ module: fixture('stage-kinds'), pipelines: ['tally'], workers: 2, sourceThreads: 2 });
  const tallied: unknown[] = [];
  tally.results('tally').on('data', (r) => tallied.push(r));
  await tally.ingestNdjson(Readable.from([tallyEvents.map((e) => JSON.stringify(e)).join('\n') + '\n']), { chunkBytes: 128 * 1024 });
  await tally.stop();
  t.ok(tallyReference.length > 0 && sorted(tallied).join('\n') === tallyReference.join('\n'), '2 workers, 2 source threads: tally as with 1 worker');
});

t.test('across a SIGKILL and a restart with another worker count: every result once', async (t) => {
  const joined = await crashAndRerun(t, fixture('stage-kinds'), ['winning', 'categories'], batchesOf(joinEvents, BATCH), { checkpointAt: 7, killAt: 13, workers: [3, 2] });
  checkJoinStages(t, { results: joined.results, errors: [] }, '3 → 2 workers');
  const tallied = await crashAndRerun(t, fixture('stage-kinds'), ['tally'], batchesOf(tallyEvents, BATCH), { checkpointAt: 7, killAt: 13, workers: [1, 4] });
  t.ok(tallyReference.length > 0 && sorted(tallied.results.tally).join('\n') === tallyReference.join('\n'), '1 → 4 workers: tally as without a crash, each record once');
});

t.test('a later stage\'s late events: late(\'<name>/2\'); late(\'<name>\') gives the first stage\'s', async (t) => {
  const engine = await start({ module: fixture('stage-kinds'), pipelines: ['refired'], workers: 2 });
  const out: Record<string, unknown[]> = { results: [], late: [], late1: [], late2: [] };
  engine.results('refired').on('data', (r) => out.results.push(r));
  engine.late('refired').on('data', (e) => out.late.push(e));
  engine.late('refired/1').on('data', (e) => out.late1.push(e));
  engine.late('refired/2').on('data', (e) => out.late2.push(e));
  for (const b of batchesOf(tallyEvents, BATCH)) await engine.ingest(b);
  await engine.stop();
  const firsts = firstStage.filter((r) => !refirings.has(JSON.stringify({ auction: r.key, windowStart: r.windowStart, bids: r.bids })));
  const perBucket = new Map<string, { key: number; windowStart: number; windowEnd: number; auctions: number }>();
  for (const r of firsts) {
    const key = Math.min(r.bids, BUCKETS);
    const id = `${key}|${r.windowStart}`;
    if (!perBucket.has(id)) perBucket.set(id, { key, windowStart: r.windowStart, windowEnd: r.windowStart + WINDOW_MS, auctions: 0 });
    perBucket.get(id)!.auctions++;
  }
  t.ok(sorted(out.results).join('\n') === sorted([...perBucket.values()]).join('\n'), `the second stage counted the first firings (${perBucket.size} windows)`);
  t.equal(out.late2.length, refirings.size, 'every re-firing is a late event of the second stage');
  t.ok(sorted(out.late2.map((r) => { const { key, windowStart, bids } = r as { key: number; windowStart: number; bids: number }; return { auction: key, windowStart, bids }; })).join('\n') === [...refirings].sort().join('\n'), 'late as the re-firings they are');
  t.ok(out.late.length > 0 && sorted(out.late).join('\n') === sorted(out.late1).join('\n'), `late('refired') is the first stage's late events (${out.late.length})`);
});

t.test('timers fire as of the same watermark on any worker count and batching: one set behind it, a later stage\'s TTL', async (t) => {
  const past = [{ k: 'a', t: 0 }, ...['k1', 'k2', 'k7', 'k11', 'k12', 'k13'].map((k, i) => ({ k, t: (i + 1) * 10 })), { k: 'k3', t: 70 }, { k: 'k4', t: 200 }];
  const ticks = Array.from({ length: 3_000 }, (_, i) => ({ k: `k${i % 37}`, t: i * 3 }));
  const runs: string[] = [];
  for (const [workers, batch] of [[1, 3_000], [2, 7], [3, 50]]) {
    const engine = await start({ module: fixture('stage-kinds'), pipelines: ['past-timer', 'timer-ttl'], workers });
    const out: Record<string, unknown[]> = { results: [], late: [], ttl: [] };
    engine.results('past-timer').on('data', (r) => out.results.push(r));
    engine.late('past-timer/2').on('data', (e) => out.late.push(e));
    engine.results('timer-ttl').on('data', (r) => out.ttl.push(r));
    for (let i = 0; i < past.length; i += batch) await engine.ingest(past.slice(i, i + batch));
    for (let i = 0; i < ticks.length; i += batch) await engine.ingest(ticks.slice(i, i + batch));
    await engine.stop();
    t.same(out.late, [{ tag: 'past' }], `${workers} workers: the output of the timer set behind the watermark is late for the next stage`);
    t.same(out.results, [], `${workers} workers: and counted in no window there`);
    const seen = out.ttl as Array<{ time: number; seen: number | null }>;
    t.ok(seen.length > 800 && seen.every((r) => r.seen === r.time - 15), `${workers} workers: each timer read the value set for the window before it (its TTL not yet out, as of the timer's time)`);
    runs.push(sorted(seen).join('\n'));
  }
  t.ok(runs.every((r) => r === runs[0]), 'the same outputs for 1, 2 and 3 workers');
});

t.test('a timer set behind the watermark fires as of that watermark, also after a failed call deleted it (undone)', async (t) => {
  const run = await runEngine({ module: fixture('stage-kinds'), pipelines: ['undone-delete'], workers: 1 },
    [[{ k: 'x', t: 100 }, { k: 'x', t: 101 }, { k: 'y', t: 50, set: 50 }, { k: 'y', t: 60, drop: 50 }, { k: 'x', t: 200 }]]);
  t.same(run.results['undone-delete'], [{ time: 50, watermark: 100 }], 'the timer at 50, as of the watermark it was set under (101 − 1)');
  t.match(run.errors, [{ stage: 'process', message: /undo the delete/ }]);
});

t.test('bounded() windows: bad bounds are dead letters; windows that overlap merge', async (t) => {
  t.match(pipeline('x').keyBy(() => 1).eventTime(() => 1).window(bounded(5 as never)).aggregate({ n: count() }).problems(), [/bounded\(\) needs a function/]);
  const engine = await start({ module: fixture('stage-kinds'), pipelines: ['spans'], workers: 2 });
  const results: unknown[] = [];
  const errors: Array<{ stage: string; message: string }> = [];
  engine.results('spans').on('data', (r) => results.push(r));
  engine.errors().on('data', (e) => errors.push(e));
  await engine.ingest([
    { k: 'a', t: 1, from: 0, to: 10 }, { k: 'a', t: 2, from: 5, to: 20 }, { k: 'a', t: 3, from: 20, to: 30 }, { k: 'a', t: 4, from: 40, to: 50 },
    { k: 'b', t: 4, from: 5, to: 5 }, { k: 'b', t: 5, from: 'x', to: 9 }, { k: 'b', t: 6, from: 'throw', to: 0 }, { k: 'b', t: 7, from: 0, to: Infinity },
  ]);
  await engine.stop();
  t.same(sorted(results), sorted([{ key: 'a', windowStart: 0, windowEnd: 20, n: 2 }, { key: 'a', windowStart: 20, windowEnd: 30, n: 1 }, { key: 'a', windowStart: 40, windowEnd: 50, n: 1 }]),
    'overlapping windows merged; touching and apart ones not');
  t.equal(errors.length, 4, 'each bad event is a dead letter');
  t.ok(errors.every((e) => e.stage === 'window'), 'of the window() step');
  t.match(errors.map((e) => e.message).join('\n'), /bounded\(\) must give finite numbers with start < end, got \[5, 5\][^]*bounded\(\) threw: Error: no bounds/);
});
