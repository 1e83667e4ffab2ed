import t, { type Test } from 'tap';
import { Readable } from 'node:stream';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { Bid, NexmarkEvent } from '../lib/nexmark/model.js';
import { count, pipeline, tumbling, type DeadLetter } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture, runEngine, sorted, type Collected } from './helpers/collect.js';
import { batchesOf } from './helpers/compare.js';
import { reference } from './helpers/reference.js';
import { crashAndRerun, runScript, scriptResults, scriptSummary } from './helpers/script.js';
import { keyflow, lines } from './helpers/cli.js';
import { BUCKETS, BUSY, CHAINED_WINDOW_MS, KEYLESS, OUT_OF_ORDER_MS, UNSUMMABLE, WINDOW_MS } from './fixtures/stages.js';

// Pipelines of several stages: a stage's results, re-keyed, go from actor to actor (shuffle.ts). The second
// stage takes them in by time, then upstream key-group and number: the same results as a plain reference of
// both stages, identical for 1, 2 and 4 workers (a first() in the second stage shows the order is the same),
// from ingest() and from a parallel source; failures in the second stage are its dead letters. A stage that
// keepKey() begins takes the results of the one before in the same actor: as its reference too.

const EVENTS = 20_000;
const BATCH = 1_000;
// Bids arrive up to 300 ms out of order while the first stage allows 200 ms: some are late, on purpose.
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 21, outOfOrderMs: 300 }).batch(EVENTS);
const bids: Bid[] = events.flatMap((e) => (e.kind === 'bid' ? [e.bid] : []));

/** Bids and top price per auction and tumbling window of `size`, as a plain reference computes them. */
const bidsPerAuction = (size: number) => reference(bids, {
  key: (b) => b.auction,
  time: (b) => b.dateTime,
  outOfOrderMs: OUT_OF_ORDER_MS,
  lateness: 0,
  window: { type: 'tumbling', size },
  aggregate: (items) => ({ bids: items.length, top: Math.max(...items.map((i) => i.value.price)) }),
});
/** The first stage. */
const perAuction = bidsPerAuction(WINDOW_MS);
type First = { key: number; windowStart: number; windowEnd: number; bids: number; top: number };
const firsts = perAuction.results as First[];

/** The second stage: group the first stage's results by `keyOf` and window, and aggregate with `fold`. */
function grouped<I extends { windowStart: number }, R>(items: I[], keyOf: (r: I) => number, fold: (rs: I[]) => R): Array<{ key: number; windowStart: number; windowEnd: number } & R> {
  const groups = new Map<string, { key: number; start: number; items: I[] }>();
  for (const r of items) {
    const key = keyOf(r);
    const id = `${key}|${r.windowStart}`;
    if (!groups.has(id)) groups.set(id, { key, start: r.windowStart, items: [] });
    groups.get(id)!.items.push(r);
  }
  return [...groups.values()].map((g) => ({ key: g.key, windowStart: g.start, windowEnd: g.start + WINDOW_MS, ...fold(g.items) }));
}

const bucketed = grouped(firsts, (r) => Math.min(r.bids, BUCKETS), (rs) => ({ auctions: rs.length, bids: rs.reduce((n, r) => n + r.bids, 0), top: Math.max(...rs.map((r) => r.top)) }));
const parity = grouped(bucketed, (r) => r.key % 2, (rs) => ({ buckets: rs.length, auctions: rs.reduce((n, r) => n + r.auctions, 0) }));
/** The first stage's windows of each auction, per CHAINED_WINDOW_MS (keepKey()). */
const chained = (() => {
  const groups = new Map<string, First[]>();
  for (const r of firsts) {
    const id = `${r.key}|${Math.floor(r.windowStart / CHAINED_WINDOW_MS)}`;
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const windowStart = Math.floor(rs[0].windowStart / CHAINED_WINDOW_MS) * CHAINED_WINDOW_MS;
    return { key: rs[0].key, windowStart, windowEnd: windowStart + CHAINED_WINDOW_MS, windows: rs.length, bids: rs.reduce((n, r) => n + r.bids, 0), top: Math.max(...rs.map((r) => r.top)) };
  });
})();
/** Each bid passed on, then per auction and CHAINED_WINDOW_MS (keepKey()): one window over the bids, as a single stage's. */
const relayed = bidsPerAuction(CHAINED_WINDOW_MS).results;
const busy = grouped(firsts.filter((r) => r.bids >= BUSY), (r) => Math.min(r.bids, BUCKETS), (rs) => ({ auctions: rs.length, bids: rs.reduce((n, r) => n + r.bids, 0) }));
const keyless = firsts.filter((r) => r.key % KEYLESS === 0);
const unsummable = grouped(firsts.filter((r) => r.key % KEYLESS !== 0), (r) => r.bids % 2, (rs) => ({ bad: rs.filter((r) => r.key % UNSUMMABLE === 0).length }))
  .reduce((n, g) => n + g.bad, 0);
const fragile = grouped(firsts.filter((r) => r.key % KEYLESS !== 0 && r.key % UNSUMMABLE !== 0), (r) => r.bids % 2,
  (rs) => ({ auctions: rs.length, bids: rs.reduce((n, r) => n + r.bids, 0) }));

/** Results without the fields that depend on a later stage's input order. */
const withoutOrder = (rs: unknown[] | undefined) => sorted((rs ?? []).map((r) => Object.fromEntries(Object.entries(r as object).filter(([k]) => !k.startsWith('first')))));

function checkRun(t: Test, run: Collected, label: string): void {
  t.ok(withoutOrder(run.results.bucketed).join('\n') === sorted(bucketed).join('\n'), `${label}: bucketed as the reference (${bucketed.length} results)`);
  t.ok(sorted(run.results.fragile).join('\n') === sorted(fragile).join('\n'), `${label}: fragile as the reference (${fragile.length} results)`);
  t.ok(withoutOrder(run.results.parity).join('\n') === sorted(parity).join('\n'), `${label}: parity (three stages) as the reference (${parity.length} results)`);
  t.ok(withoutOrder(run.results.chained).join('\n') === sorted(chained).join('\n'), `${label}: chained (keepKey()) as the reference (${chained.length} results)`);
  t.ok(sorted(run.results.relayed).join('\n') === sorted(relayed).join('\n'), `${label}: relayed (keepKey() after a process()) as the reference (${relayed.length} results)`);
  t.ok(sorted(run.late['bucketed/1']).join('\n') === sorted(perAuction.late).join('\n'), `${label}: the first stage's ${perAuction.late.length} late events`);
  t.ok(sorted(run.results['per-auction']).join('\n') === sorted(firsts).join('\n'), `${label}: per-auction, which busy reads, has its results out too (${firsts.length})`);
  t.ok(sorted(run.results.busy).join('\n') === sorted(busy).join('\n'), `${label}: busy (from() per-auction) as the reference (${busy.length} results)`);
  const failed = (stage: string) => run.errors.filter((e) => e.pipeline === 'fragile' && e.stage === stage);
  t.equal(failed('keyBy').length, keyless.length, `${label}: a keyBy() dead letter for each of the ${keyless.length} results without a key`);
  t.equal(failed('aggregate').length, unsummable, `${label}: an aggregate() dead letter for each of the ${unsummable} results that cannot be summed`);
  t.equal(run.errors.length, keyless.length + unsummable, `${label}: no other dead letter`);
}

t.test('two stages: as the reference, identical for 1, 2 and 4 workers', async (t) => {
  t.ok(bucketed.length > 100 && fragile.length > 30 && keyless.length > 10 && unsummable > 10 && perAuction.late.length > 100, `the input exercises every case: ${bucketed.length}, ${fragile.length}, ${keyless.length}, ${unsummable}, ${perAuction.late.length}`);
  const outputs: string[] = [];
  const errors: DeadLetter[] = [];
  for (const workers of [1, 2, 4]) {
    const run = await runEngine({ module: fixture('stages'), workers }, batchesOf(events, BATCH));
    checkRun(t, run, `${workers} workers`);
    outputs.push(['bucketed', 'fragile', 'parity', 'chained', 'relayed'].map((name) => sorted(run.results[name]).join('\n')).join('\n'));
    if (workers === 2) errors.push(...run.errors);
  }
  t.ok(outputs.every((o) => o === outputs[0]), 'the same results, first() included, with 1, 2 and 4 workers');
  const keyed = errors.find((e) => e.pipeline === 'fragile' && e.stage === 'keyBy');
  t.match(keyed?.message, /^keyBy\(\) of pipeline 'fragile' at the earlier stage's results at time \d+: Error: auction \d+ has no bucket/, 'a dead letter names the stage and where its input came from');
});

t.test('two stages from a parallel source: the same results', async (t) => {
  const ndjson = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
  for (const [workers, sourceThreads] of [[1, 2], [3, 1]]) {
    const engine = await start({ module: fixture('stages'), workers, sourceThreads });
    const run: Collected = { results: {}, late: {}, errors: [], summary: undefined as never };
    for (const p of engine.pipelines) {
      if (p.downstream === null) engine.results(p.name).on('data', (r) => (run.results[p.name] ??= []).push(r));
      engine.late(p.name).on('data', (e) => (run.late[p.name] ??= []).push(e));
    }
    engine.errors().on('data', (e) => run.errors.push(e));
    await engine.ingestNdjson(Readable.from([ndjson]), { chunkBytes: 256 * 1024 });
    await engine.stop();
    checkRun(t, run, `${workers} workers, ${sourceThreads} source threads`);
  }
});

t.test('two stages across a SIGKILL and a restart with another worker count: every result once', async (t) => {
  for (const workers of [[3, 2], [1, 4]] as Array<[number, number]>) {
    const { results, errors } = await crashAndRerun(t, fixture('stages'), ['bucketed', 'fragile', 'parity', 'busy', 'chained', 'relayed'], batchesOf(events, BATCH), { checkpointAt: 12, killAt: 21, workers });
    t.ok(sorted(results.busy).join('\n') === sorted(busy).join('\n'), `${workers.join(' → ')} workers: busy (from()) as the reference, each result once`);
    t.ok(withoutOrder(results.parity).join('\n') === sorted(parity).join('\n'), `${workers.join(' → ')} workers: parity as the reference, each result once`);
    t.ok(withoutOrder(results.chained).join('\n') === sorted(chained).join('\n'), `${workers.join(' → ')} workers: chained (keepKey()) as the reference, each result once`);
    t.ok(sorted(results.relayed).join('\n') === sorted(relayed).join('\n'), `${workers.join(' → ')} workers: relayed (keepKey()) as the reference, each result once`);
    t.ok(withoutOrder(results.bucketed).join('\n') === sorted(bucketed).join('\n'), `${workers.join(' → ')} workers: bucketed as the reference, each result once`);
    t.ok(sorted(results.fragile).join('\n') === sorted(fragile).join('\n'), `${workers.join(' → ')} workers: fragile as the reference, each result once`);
    t.ok((errors as DeadLetter[]).some((e) => e.pipeline === 'fragile' && e.stage === 'keyBy'), 'the rerun reports the second stage\'s dead letters');
  }
});

t.test('rescaling 4 → 2 → 3 workers, checkpoints every few ms, a SIGKILL in each phase: every result once', async (t) => {
  // Barriers every few milliseconds reach some actors before the first stage's results that precede them
  // reach them from others: a snapshot must wait for those (aligned barriers), or recovery would miss them.
  const steps = batchesOf(events, BATCH).map((ingest, seq) => ({ ingest, seq }));
  // One round: each is three child processes; the crash tests above cover more worker counts.
  for (const round of [0]) {
    const dir = await mkdtemp(join(tmpdir(), 'keyflow-stages-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    // Every 10 ms: several barriers per batch still. At 3 ms the runs did little but checkpoint (17 s alone
    // against 8 s, and 86 s in a loaded suite).
    const options = { module: fixture('stages'), stateDir: join(dir, 'state'), snapshotEveryMs: 10 };
    for (const [workers, upTo] of [[4, 12], [2, 22]]) {
      const crashed = await runScript(dir, { ...options, workers }, [...steps.slice(0, upTo), { kill: true }]);
      t.equal(crashed.signal, 'SIGKILL', `round ${round}: ${workers} workers killed after batch ${upTo} ${crashed.stderr}`);
    }
    const last = await runScript(dir, { ...options, workers: 3 }, steps);
    t.equal(last.code, 0, `round ${round}: 3 workers ended well ${last.stderr}`);
    t.ok(scriptSummary(dir).recovery.checkpoint !== null, `round ${round}: each rerun restored a checkpoint`);
    t.ok(withoutOrder(scriptResults(dir, 'bucketed')).join('\n') === sorted(bucketed).join('\n'), `round ${round}: bucketed as the reference, each result once`);
    t.ok(sorted(scriptResults(dir, 'fragile')).join('\n') === sorted(fragile).join('\n'), `round ${round}: fragile as the reference, each result once`);
    t.ok(withoutOrder(scriptResults(dir, 'parity')).join('\n') === sorted(parity).join('\n'), `round ${round}: parity (three stages) as the reference, each result once`);
    t.ok(sorted(scriptResults(dir, 'busy')).join('\n') === sorted(busy).join('\n'), `round ${round}: busy (from()) as the reference, each result once`);
    t.ok(withoutOrder(scriptResults(dir, 'chained')).join('\n') === sorted(chained).join('\n'), `round ${round}: chained (keepKey()) as the reference, each result once`);
    t.ok(sorted(scriptResults(dir, 'relayed')).join('\n') === sorted(relayed).join('\n'), `round ${round}: relayed (keepKey()) as the reference, each result once`);
  }
});

t.test('a stage keepKey() began moves with the stage before it: its results come out while input still comes', async (t) => {
  const engine = await start({ module: fixture('stages'), workers: 2 });
  const results: Array<{ windowEnd: number }> = [];
  engine.results('chained').on('data', (r: { windowEnd: number }) => results.push(r));
  const half = events.slice(0, EVENTS / 2);
  await engine.ingest(half);
  // Its windows fire as the watermark passes them, not at the end of input.
  for (const until = Date.now() + 10_000; results.length === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 10));
  const watermark = Math.max(...half.map((e) => (e.kind === 'bid' ? e.bid.dateTime : -Infinity))) - OUT_OF_ORDER_MS;
  t.ok(results.length > 0, `${results.length} results before the rest of the input`);
  t.ok(results.every((r) => r.windowEnd <= watermark + 1), 'each of a window the watermark has passed');
  await engine.ingest(events.slice(EVENTS / 2));
  await engine.stop();
  t.equal(results.length, chained.length, 'and the rest at the end');
});

t.test('a stage moved from keyBy() of the same key to keepKey() between two runs takes in what the checkpoint held for it', async (t) => {
  // The first run re-keys `chained`'s second stage through the shuffle, where results wait for every actor's
  // watermark, and is killed after a checkpoint; the second runs it with keepKey() from that checkpoint.
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-stages-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const steps = batchesOf(events, BATCH).map((ingest, seq) => ({ ingest, seq }));
  const options = { stateDir: join(dir, 'state'), snapshotEveryMs: 0 };
  const crashed = await runScript(dir, { ...options, module: fixture('stages-rekeyed'), workers: 3 },
    [...steps.slice(0, 12), { checkpoint: true }, ...steps.slice(12, 21), { kill: true }]);
  t.equal(crashed.signal, 'SIGKILL', `the first run (keyBy()) was killed ${crashed.stderr}`);
  const rerun = await runScript(dir, { ...options, module: fixture('stages'), workers: 2 }, steps);
  t.equal(rerun.code, 0, `the second run (keepKey()) ended well ${rerun.stderr}`);
  t.ok(scriptSummary(dir).recovery.checkpoint !== null, 'it restored the checkpoint');
  t.ok(withoutOrder(scriptResults(dir, 'chained')).join('\n') === sorted(chained).join('\n'), `chained as the reference, each result once (${chained.length})`);
  t.ok(sorted(scriptResults(dir, 'relayed')).join('\n') === sorted(relayed).join('\n'), `relayed as the reference, each result once (${relayed.length})`);
});

t.test('late() of a pipeline of several stages gives its first stage\'s late events', async (t) => {
  const engine = await start({ module: fixture('stages'), pipelines: ['bucketed'], workers: 2 });
  const late: unknown[] = [];
  engine.late('bucketed').on('data', (e) => late.push(e));
  for (const b of batchesOf(events, BATCH)) await engine.ingest(b);
  await engine.stop();
  t.equal(late.length, perAuction.late.length);
  t.same(engine.pipelines.map((p) => p.name), ['bucketed/1', 'bucketed'], 'naming the pipeline runs its stages, the earlier one renamed');
  t.throws(() => engine.results('bucketed/1'), { code: 'ERR_KEYFLOW_CONFIG', message: /'bucketed\/1' is a stage whose results go to the next one, 'bucketed': take the results of 'bucketed'/ });
});

t.test('keyflow run --pipeline busy writes the results of busy alone, exactly once with --state (per-auction, which it reads, runs too)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-stages-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.ndjson');
  await writeFile(input, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const out = join(dir, 'out.ndjson');
  const r = await keyflow(['run', fileURLToPath(fixture('stages')), '--pipeline', 'busy', '--input', input, '--output', out, '--state', join(dir, 'state'), '--workers', '2']);
  t.equal(r.code, 0, r.stderr);
  t.ok(lines(await readFile(out, 'utf8')).sort().join('\n') === sorted(busy).join('\n'), `busy's ${busy.length} results, and nothing else`);
});

t.test('what a stage cannot do yet, and what it must not, is refused with why', async (t) => {
  const keyed = () => pipeline<{ k: string; t: number }>('p').keyBy((e) => e.k).eventTime((e) => e.t);
  const second = keyed().window(tumbling(10)).aggregate({ n: count() }).keyBy((r) => r.n);
  t.same(second.window(tumbling(20)).aggregate({ m: count() }).problems(), [], 'a later stage needs no eventTime()');
  t.match(keyed().window(tumbling(10)).aggregate({ n: count() }).keyBy((r) => r.n).eventTime(() => 1).problems(), [/eventTime\(\) in a later stage/]);
  t.match(keyed().window(tumbling(10)).aggregate({ n: count() }).keyBy((r) => r.n).map((r) => r).problems(), [/map\(\) must come before keyBy\(\)/]);
  const other = pipeline<{ k: string; t: number }>('o').keyBy((e) => e.k).eventTime((e) => e.t);
  t.match(pipeline<{ k: string }>('p').keyBy((e) => e.k).process({ onEvent() {} }).keyBy(() => 1).problems(), [/a stage that another follows needs eventTime\(\)/]);
  t.match(pipeline('r').from(keyed()).keyBy(() => 1).problems(), [/from\('p'\): it reads the results of window\(\)\.aggregate\(\), process\(\) or a join/]);
  t.match(keyed().from(keyed().window(tumbling(10)).aggregate({ n: count() })).problems(), [/from\(\) must come first/]);
  const source = () => keyed().window(tumbling(10)).aggregate({ n: count() });
  const continued = source();
  continued.keyBy((r) => r.n).window(tumbling(10)).aggregate({ m: count() });
  t.match(pipeline('r').from(continued).keyBy(() => 1).problems(), [/from\('p\/1'\): its results go to its next stage, 'p'; read that/]);
  const read = source();
  pipeline('r').from(read).keyBy(() => 1);
  t.match(read.keyBy((r) => r.n).problems(), [/keyBy\(\) after the stateful part of a pipeline that 'r' read\(s\) with from\(\)/]);
  const self = pipeline('s');
  t.match(self.from(self).problems(), [/a pipeline cannot read its own results/]);
  t.match(pipeline('r').from(source()).filter(() => true).problems(), [/a pipeline that reads another with from\(\) needs keyBy\(\)/]);
  t.match(pipeline('r').from(pipeline<{ k: string }>('u').keyBy((e) => e.k).process({ onEvent() {} })).keyBy(() => 1).problems(), [/from\('u'\): it needs eventTime\(\)/]);
  const joinLater = keyed().window(tumbling(10)).aggregate({ n: count() }).keyBy((r) => r.n).join(other, { ttlMs: 10 });
  t.match(joinLater.problems(), [/join\(\) input 'o': one input reads the sources and the other a pipeline's results/]);
  const branched = keyed().window(tumbling(10)).aggregate({ n: count() });
  branched.keyBy((r) => r.n);
  t.match(branched.keyBy((r) => r.key).problems(), [/keyBy\(\) on a stage that another already follows/], 'one stage feeds one next stage');
  const followed = keyed().window(tumbling(10)).aggregate({ n: count() });
  followed.keyBy((r) => r.n);
  t.match(followed.keepKey().problems(), [/keepKey\(\) on a stage that another already follows/]);
  t.match(keyed().keepKey().problems(), [/keepKey\(\) starts a next stage: it comes after aggregate\(\), process\(\) or a join/]);
  const kept = () => keyed().window(tumbling(10)).aggregate({ n: count() }).keepKey();
  t.same(kept().window(tumbling(20)).aggregate({ m: count() }).problems(), [], 'a stage keepKey() began needs no keyBy() or eventTime()');
  t.match(kept().keyBy((r) => r.n).problems(), [/keyBy\(\) after keepKey\(\), which keys the stage already/]);
  t.match(kept().map((r) => r).problems(), [/map\(\) right after keepKey\(\): put it before keepKey\(\)/]);
});
