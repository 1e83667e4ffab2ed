import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from './helpers/start.js';
import { KeyedProcessOperator } from '../lib/actor-thread/operators/keyed-process-operator.js';
import { KeyedStore } from '../lib/actor-thread/state/keyed-store.js';
import { fixture, runEngine, sorted } from './helpers/collect.js';
import { runScript, scriptResults, scriptSummary, type Step } from './helpers/script.js';
import { within } from './helpers/wait.js';

const MODULE = fixture('ttl');

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-ttl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

// Event-time TTL of 100 ms; the watermark an event sees is the largest earlier time - 1.
const batches = [
  [{ k: 'a', t: 0, set: true }, { k: 'a', t: 80 }],
  [{ k: 'b', t: 150 }, { k: 'a', t: 160 }],
  [{ k: 'b', t: 400 }, { k: 'a', t: 401, set: true }],
  [{ k: 'c', t: 450, set: true }, { k: 'a', t: 460 }],
  [{ k: 'z', t: 700 }, { k: 'a', t: 701 }],
];
const none = { w: null, rw: null, m: [], l: [] };
const expected = [
  { key: 'a', t: 0, ...none },
  { key: 'a', t: 80, w: 0, rw: 0, m: [0], l: [0] }, // the read restarts rw's life: until 180
  { key: 'b', t: 150, ...none },
  { key: 'a', t: 160, w: null, rw: 0, m: [], l: [] }, // wm 149: w, m and l expired at 100; rw lives until 260
  { key: 'b', t: 400, ...none },
  { key: 'a', t: 401, ...none }, // wm 399: rw expired too
  { key: 'c', t: 450, ...none },
  { key: 'a', t: 460, w: 401, rw: 401, m: [401], l: [401] },
  { key: 'z', t: 700, ...none },
  { key: 'a', t: 701, ...none },
];

t.test('TTL state: expired entries are never returned (onWrite and onReadAndWrite; value, map and list)', async (t) => {
  for (const workers of [1, 4]) {
    const run = await runEngine({ module: MODULE, pipelines: ['ttl'], workers }, batches);
    t.same(sorted(run.results.ttl), sorted(expected), `${workers} worker(s)`);
    t.same(run.errors, []);
  }
});

t.test('TTL expiry is exact across a checkpoint and a SIGKILL', async (t) => {
  const dir = await scratch(t);
  const startOptions = { module: MODULE, pipelines: ['ttl'], workers: 2, stateDir: join(dir, 'state'), snapshotEveryMs: 0 };
  const steps: Step[] = batches.map((ingest, seq) => ({ ingest, seq }));
  const crashing: Step[] = [steps[0], steps[1], { checkpoint: true }, steps[2], { kill: true }];
  const crashed = await runScript(dir, startOptions, crashing);
  t.equal(crashed.signal, 'SIGKILL', crashed.stderr);
  const resumed = await runScript(dir, startOptions, [...steps, { query: { pipeline: 'ttl', key: 'a' } }]);
  t.equal(resumed.code, 0, resumed.stderr);
  t.same(sorted(scriptResults(dir, 'ttl')), sorted(expected), 'the same results as a run without the crash, each once');
  const summary = scriptSummary(dir);
  t.equal(summary.recovery.checkpoint, 1, 'restored from the checkpoint, then replayed the WAL');
  t.ok(summary.recovery.replayedFrames > 0);
  t.same(summary.queries, [null], "a's state has all expired: query() finds none");
});

t.test('snapshots leave expired entries out, so state from keys never seen again does not accumulate', async (t) => {
  const dir = await scratch(t);
  const engine = await start({ module: MODULE, pipelines: ['fresh'], workers: 2, stateDir: dir, snapshotEveryMs: 0 });
  await engine.ingest(Array.from({ length: 1000 }, (_, i) => ({ k: `k${i}`, t: i })));
  await engine.checkpoint();
  // The watermark is 998: keys written before 898 have expired (TTL 100).
  t.equal(engine.checkpointStats().lastKeys, 101, 'only keys written in the last 100 ms of event time');
  t.same(await engine.query('fresh', 'k999'), { key: 'k999', values: { first: 999 }, maps: {}, lists: {} });
  t.equal(await engine.query('fresh', 'k0'), undefined, 'an expired key reads as no state');
  await engine.ingest([{ k: 'late-comer', t: 5000 }, { k: 'tick', t: 5001 }]);
  await engine.checkpoint();
  t.equal(engine.checkpointStats().lastKeys, 2);
  await engine.stop();
});

t.test('expired entries are reclaimed from memory as the watermark passes them, a batch at a time', async (t) => {
  const out = { result: () => {}, late: () => {}, touch: () => {}, problem: () => {} };
  const op = new KeyedProcessOperator({ onEvent(e: { t: number }, ctx) { ctx.value('v', { ttl: { ttlMs: 100 } }).set(e.t); } }, out, () => new KeyedStore(4), true);
  const keysHeld = () => [0, 1, 2, 3].reduce((n, kg) => n + [...op.store.values(kg)].length, 0);
  // An endless stream of new keys, each seen once: the watermark trails the event just before.
  for (let i = 0; i < 10_000; i++) op.onEvent(i % 4, `k${i}`, `k${i}`, i, i - 1, 0, i, i, { t: i });
  // Reclaim works per second of event time: at watermark 9998 the keys expiring by 9000 (written up to
  // 8900) are gone; those written since are held, whether expired since or not.
  t.equal(keysHeld(), 1099, 'memory holds at most the TTL plus one reclaim span of keys');
  op.advanceWatermark(9_999);
  t.equal(keysHeld(), 1099, 'no reclaim before the next span is due');
  op.advanceWatermark(20_000);
  t.equal(keysHeld(), 0, 'everything expired is gone');
});

t.test('processing-time TTL follows the actor clock', async (t) => {
  const engine = await start({ module: MODULE, pipelines: ['wallTtl'], workers: 1 });
  const results: any[] = [];
  let appliedBoth!: () => void;
  const applied = new Promise<void>((resolve) => (appliedBoth = resolve));
  engine.results('wallTtl').on('data', (r) => results.push(r) === 2 && appliedBoth());
  // One frame: the actor reads its clock once for both events, so the second sees what the first set.
  await engine.ingest([{ k: 'a', t: 1, set: true }, { k: 'a', t: 2 }]);
  // The value was set before its results came out (ingest() resolving says only that the ring took the
  // events); from then on, let more than its TTL of 150 ms pass on the clock before the next event.
  await within(applied, 'the results of the first two events');
  await new Promise((r) => setTimeout(r, 200));
  await engine.ingest([{ k: 'a', t: 3 }]);
  await engine.stop();
  t.same(results, [{ key: 'a', t: 1, v: null }, { key: 'a', t: 2, v: 1 }, { key: 'a', t: 3, v: null }]);
});

t.test('a state declared with a bad TTL is reported as an error in the function', async (t) => {
  const { counter } = await import('./fixtures/bad-ttl.js');
  const run = await runEngine({ pipelines: [counter], workers: 1 }, [[{ k: 'a' }]]);
  t.equal(run.errors.length, 1);
  t.match(run.errors[0], { code: 'ERR_KEYFLOW_USER_FUNCTION', message: /state 'n': ttl.ttlMs must be a number > 0, got -5/ });
});
