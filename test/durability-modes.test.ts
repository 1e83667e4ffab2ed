import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSegments, walDir } from '../lib/shared/durability/state-layout.js';
import { BATCH_SPAN } from '../lib/shared/dead-letter.js';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';
import { runScript, scriptResults } from './helpers/script.js';

// Three batches of in-order events for five keys; the totals per window are known.
const batch = (seq: number) => Array.from({ length: 500 }, (_, i) => ({ k: `k${i % 5}`, t: seq * 500 + i, v: 1 }));
const steps = [{ ingest: batch(0), seq: 0 }, { ingest: batch(1), seq: 1 }, { ingest: batch(2), seq: 2 }];

/** Per key, the events counted over all windows: every event exactly once gives 300 per key. */
function perKey(results: Array<{ key: string; n: number }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.key] = (counts[r.key] ?? 0) + r.n;
  return counts;
}

const everyEventOnce = { k0: 300, k1: 300, k2: 300, k3: 300, k4: 300 };

for (const durability of ['sync', 'batch', 'none'] as const) {
  t.test(`durability '${durability}': killed after a checkpoint and more acknowledged input, rerun, every event counted once`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), `keyflow-${durability}-`));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const stateDir = join(dir, 'state');
    const options = { module: fixture('durable'), workers: 2, stateDir, durability, snapshotEveryMs: 0 };
    // Batch 0 is in the checkpoint; batch 1 was acknowledged after it (in the WAL, except with 'none').
    const crashed = await runScript(dir, options, [steps[0], { checkpoint: true }, steps[1], { kill: true }]);
    t.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const logged = listSegments(walDir(stateDir, 2, 0)).length + listSegments(walDir(stateDir, 2, 1)).length;
    if (durability === 'none') t.equal(logged, 0, "'none' keeps no write-ahead log");
    else t.ok(logged > 0, `'${durability}' logs its input`);

    // The producer resends everything after the checkpoint (the script skips what resumePosition covers).
    const rerun = await runScript(dir, options, steps);
    t.equal(rerun.code, 0, rerun.stderr);
    t.same(perKey(scriptResults(dir, 'counts')), everyEventOnce, 'each event once: replayed from the WAL or resent, never both');
    const windows = scriptResults(dir, 'counts').map((r: { key: string; windowStart: number }) => `${r.key}@${r.windowStart}`);
    t.equal(new Set(windows).size, windows.length, 'each window written once');
  });
}

t.test('ingest() calls in flight together: each resolves, its batch logged; every event counted once', async (t) => {
  for (const durability of ['sync', 'none'] as const) {
    const dir = await mkdtemp(join(tmpdir(), `keyflow-in-flight-${durability}-`));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const stateDir = join(dir, 'state');
    const engine = await start({ module: fixture('durable'), workers: 2, stateDir, durability, snapshotEveryMs: 0 });
    const results: Array<{ key: string; n: number }> = [];
    engine.results('counts').on('data', (r: { key: string; n: number }) => results.push(r));
    // All three calls at once, as a producer with several batches in flight makes them.
    const calls = steps.map((s) => engine.ingest(s.ingest, { sourceId: 'producer', seq: s.seq }));
    await Promise.all(calls);
    const logged = listSegments(walDir(stateDir, 2, 0)).length + listSegments(walDir(stateDir, 2, 1)).length;
    if (durability === 'sync') t.ok(logged > 0, "'sync': the batches are in the write-ahead log once their calls resolve");
    await engine.stop();
    t.same(perKey(results), everyEventOnce, `'${durability}': every event counted once`);
  }
});

t.test('ingest() calls in flight resolve in call order, even when a later batch goes to an actor that is ahead', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-in-order-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const engine = await start({ module: fixture('durable'), workers: 2, stateDir: join(dir, 'state'), durability: 'batch', snapshotEveryMs: 0 });
  const results: Array<{ key: string; n: number }> = [];
  engine.results('counts').on('data', (r: { key: string; n: number }) => results.push(r));
  // Each batch one key, so consecutive calls often wait on different actors: a call's acknowledgement may be
  // there before the one of the call before it, which must still resolve first.
  const calls = 300;
  const resolved: number[] = [];
  const pending = Array.from({ length: calls }, (_, c) => {
    const events = Array.from({ length: 1 + (c % 7) * 40 }, (_, i) => ({ k: `k${c % 5}`, t: c * 1000 + i, v: 1 }));
    return engine.ingest(events).then(() => resolved.push(c));
  });
  await Promise.all(pending);
  t.same(resolved, Array.from({ length: calls }, (_, c) => c), 'resolved in call order');
  await engine.stop();
  const expected = Array.from({ length: calls }, (_, c) => 1 + (c % 7) * 40).reduce((a, b) => a + b, 0);
  t.equal(results.reduce((n, r) => n + r.n, 0), expected, 'every event counted once');
});

t.test('stop() with ingest() calls still in flight, a checkpoint due after every batch: each call resolves, every event counted once, and a rerun resumes from the last checkpoint', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-stop-in-flight-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const options = { module: fixture('durable'), workers: 2, stateDir: join(dir, 'state'), durability: 'batch' as const, snapshotEveryMs: 0, snapshotEveryBytes: 1 };
  const engine = await start(options);
  const results: Array<{ key: string; n: number }> = [];
  engine.results('counts').on('data', (r: { key: string; n: number }) => results.push(r));
  // Acknowledgements come in while stop() runs: none of them may start a checkpoint after stop()'s own.
  const calls = Array.from({ length: 40 }, (_, c) => engine.ingest(Array.from({ length: 50 }, (_, i) => ({ k: `k${i % 5}`, t: c * 50 + i, v: 1 })), { sourceId: 'producer', seq: c }));
  const summary = await engine.stop();
  t.equal((await Promise.allSettled(calls)).filter((c) => c.status === 'fulfilled').length, 40, 'every call resolved');
  t.equal(results.reduce((n, r) => n + r.n, 0), 2000, 'every event counted once');
  // The rerun restores stop()'s checkpoint, which holds every batch: the producer's position is its last.
  const rerun = await start(options);
  t.equal(rerun.resumePosition('producer'), 39 * BATCH_SPAN + 49, 'resumes after the last batch');
  t.ok(summary.checkpoints.completed >= 1, `checkpoints completed (${summary.checkpoints.completed})`);
  await rerun.stop();
});

t.test('ingest() calls in flight settle in call order, a rejected one too; stop() resolves after every call has', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-settle-order-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const engine = await start({ module: fixture('durable'), workers: 2, stateDir: join(dir, 'state'), durability: 'batch', snapshotEveryMs: 0 });
  engine.results('counts').on('data', () => {});
  const settled: string[] = [];
  const calls = Array.from({ length: 30 }, (_, c) => {
    const events = Array.from({ length: 200 }, (_, i) => ({ k: `k${i % 5}`, t: c * 200 + i, v: 1 }));
    // Call 20 is refused while it is routed (its line numbers do not match its events).
    const options = c === 20 ? { lines: [1] } : {};
    return engine.ingest(events, options).then(() => settled.push(`${c} resolved`), () => settled.push(`${c} rejected`));
  });
  await engine.stop();
  t.equal(settled.length, 30, 'every call settled before stop() resolved');
  await Promise.all(calls);
  t.same(settled, Array.from({ length: 30 }, (_, c) => `${c} ${c === 20 ? 'rejected' : 'resolved'}`), 'in call order');
});
