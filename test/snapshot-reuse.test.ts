/**
 * A snapshot writes a key not got or set since the last one with the bytes it had there (KeyedStore and
 * StateWriter): every key changed since is encoded anew, in process-function state and in windows alike,
 * and a run restored from the latest of several checkpoints has every key as it was at that checkpoint; a key
 * with a TTL is encoded anew each time (what has expired depends on the time).
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateWriter, type Snapshotted } from '../lib/shared/codec/state-writer.js';
import { stateDecoder, stateEncoder } from '../lib/shared/codec/cbor.js';
import { KeyedStore } from '../lib/actor-thread/state/keyed-store.js';
import { decodeGroup, readSnapshot } from '../lib/shared/durability/snapshot-file.js';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';
import type { Ev } from './fixtures/snapshot-reuse.js';

const decoder = stateDecoder();
type State = Snapshotted & { key: string; n: number[] };
const state = (key: string, n: number[]): State => ({ key, n, snap: undefined });

t.test('a key-group\'s keys: each written anew once got or set, else with the bytes it had in the last snapshot', async (t) => {
  const store = new KeyedStore<State>(4);
  const writer = new StateWriter();
  const a = state('a', [0]);
  store.set(1, 'a', a);
  for (const key of ['b', 'c']) store.set(1, key, state(key, [0]));
  const data = (s: State) => [s.key, s.n];
  const snapshot = () => writer.encode({ keys: store.snapshot(1, data, true) });
  const first = snapshot();
  t.same(decoder.decode(first), { keys: [['a', [0]], ['b', [0]], ['c', [0]]] }, 'every key encoded');
  t.same(first, stateEncoder().encode({ keys: [['a', [0]], ['b', [0]], ['c', [0]]] }), 'as cbor-x writes it');
  t.equal(a.snap?.in, first, 'a key keeps where it is in the snapshot');
  store.get(1, 'b')!.n.push(1);
  store.set(1, 'c', state('c', [2]));
  const second = snapshot();
  t.same(decoder.decode(second), { keys: [['a', [0]], ['b', [0, 1]], ['c', [2]]] }, 'the keys got or set since as they are now');
  t.equal(a.snap?.in, second, 'the untouched key now points into the second snapshot');
  // A key's state changed behind the store's back (no get or set) is written as it was: what reuse relies on.
  a.n.push(9);
  t.same(decoder.decode(snapshot()), { keys: [['a', [0]], ['b', [0, 1]], ['c', [2]]] }, 'the untouched key\'s bytes are reused');
  t.same(decoder.decode(writer.encode({ keys: store.snapshot(1, data, false) })), { keys: [['a', [0, 9]], ['b', [0, 1]], ['c', [2]]] }, 'without reuse, every key encoded from its state');
  t.same(store.snapshot(2, data, true), [], 'an empty key-group has no keys');
});

const KEYS = Array.from({ length: 40 }, (_, i) => `k${i}`);
const at = (keys: string[], t: number, v: number): Ev[] => keys.map((k) => ({ k, t, v }));
const order = (a: string, b: string) => Number(a.slice(1)) - Number(b.slice(1));
type Window = { key: string; n: number; total: number; windowStart: number; windowEnd: number };

for (const workers of [1, 2]) {
  t.test(`restored from the last of three checkpoints, between which only some keys changed (${workers} worker(s))`, async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-snapshot-reuse-'));
    t.teardown(() => rm(stateDir, { recursive: true, force: true }));
    const options = { module: fixture('snapshot-reuse'), pipelines: ['latest', 'sums', 'sessions'], workers, stateDir };
    const first = await start(options);
    await first.ingest(at(KEYS, 1, 1));
    await first.checkpoint();
    await first.ingest(at(KEYS.slice(0, 10), 2, 2));
    await first.checkpoint();
    await first.ingest(at(KEYS.slice(5, 15), 3, 3));
    await first.checkpoint();
    await first.abort();

    const second = await start(options);
    const latest: Array<{ k: string; v: number }> = [];
    const windows: Record<string, Window[]> = { sums: [], sessions: [] };
    second.results('latest').on('data', (r) => latest.push(r));
    for (const name of ['sums', 'sessions']) second.results(name).on('data', (r) => windows[name].push(r));
    await second.ingest(at(KEYS, 4, -1));
    await second.stop();

    const expected = (i: number) => (i < 5 ? { v: 2, n: 2, total: 3 } : i < 10 ? { v: 3, n: 3, total: 6 } : i < 15 ? { v: 3, n: 2, total: 4 } : { v: 1, n: 1, total: 1 });
    t.same(latest.sort((a, b) => order(a.k, b.k)).map((r) => [r.k, r.v]), KEYS.map((k, i) => [k, expected(i).v]), 'each key\'s latest value, as at the last checkpoint');
    for (const name of ['sums', 'sessions']) {
      t.same(windows[name].sort((a, b) => order(a.key, b.key)).map((r) => [r.key, r.n, r.total]), KEYS.map((k, i) => [k, expected(i).n, expected(i).total]), `each key's ${name} window, as at the last checkpoint`);
    }
    // A session ends a gap after its last event: the bounds restored, not only the aggregates.
    const lastAt = (i: number) => (i < 5 ? 2 : i < 15 ? 3 : 1);
    t.same(windows.sessions.sort((a, b) => order(a.key, b.key)).map((r) => [r.key, r.windowStart, r.windowEnd]), KEYS.map((k, i) => [k, 1, lastAt(i) + 1_000_000]), 'each key\'s session, its bounds as at the last checkpoint');
    t.same(windows.sums.map((r) => [r.windowStart, r.windowEnd]), KEYS.map(() => [0, 1_000_000]), 'each key\'s tumbling window, its bounds');
  });
}

t.test('an encoding that throws leaves nothing behind for the next', async (t) => {
  const store = new KeyedStore<State>(4);
  const writer = new StateWriter();
  const good = state('good', [1]);
  store.set(0, 'good', good);
  const bad = { f: () => 1 };
  t.throws(() => writer.encode({ keys: store.snapshot(0, (s) => [s.key, s.n], true), bad }), 'a function in state is refused');
  t.equal(good.snap?.in, undefined, 'the key of the encoding that threw keeps no bytes');
  const next = writer.encode([1, 2]);
  t.same(decoder.decode(next), [1, 2], 'the next encoding is its own');
  t.equal(good.snap?.in, undefined, 'and gives that key no bytes of it');
});

t.test('a key whose entries expired since the last snapshot, though nobody called it, is left out of the next', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-snapshot-reuse-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const engine = await start({ module: fixture('snapshot-reuse'), pipelines: ['expiring'], workers: 1, stateDir });
  const keysIn = (checkpoint: number) => {
    const snap = readSnapshot(join(stateDir, 'snapshots', String(checkpoint).padStart(8, '0'), 'actor-0.snap'));
    return Object.values(snap.groups).flatMap((bytes) => (decodeGroup(bytes).operators[0] as { keys: Array<[string]> } | null)?.keys ?? []).map(([key]) => key).sort();
  };
  await engine.ingest([{ k: 'a', t: 0, v: 1 }]);
  await engine.checkpoint();
  t.same(keysIn(1), ['a'], 'the key while its value lives');
  // The watermark passes 0 + 100 (a's value expires), not yet the second its reclaim is queued for.
  await engine.ingest([{ k: 'b', t: 500, v: 2 }]);
  await engine.checkpoint();
  t.same(keysIn(2), ['b'], 'a is left out: its bytes from the last snapshot are not reused');
  await engine.stop();
});
