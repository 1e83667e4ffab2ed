import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { LmdbStore } from '../lib/actor-thread/state/lmdb-store.js';
import type { StateCodec } from '../lib/actor-thread/state/state-store.js';

interface Counter { key: string; n: number; seen: Set<number> }
const codec: StateCodec<Counter> = {
  encode: (s) => [s.key, s.n, [...s.seen]],
  decode: (d) => { const [key, n, seen] = d as [string, number, number[]]; return { key, n, seen: new Set(seen) }; },
};

t.test('LmdbStore: a small cache over LMDB reads back every change, deletion and key-group', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-lmdb-'));
  const root = open({ path: dir, noSync: true, maxDbs: 4 });
  t.teardown(async () => { await root.close(); await rm(dir, { recursive: true, force: true }); });
  const store = LmdbStore.open(root, 'counters', codec, 16);
  const kgOf = (i: number) => i % 3;
  for (let i = 0; i < 1000; i++) store.set(kgOf(i), `k${i}`, { key: `k${i}`, n: 0, seen: new Set() });
  t.ok(store.cachedKeys <= 16, `at most 16 keys in memory (${store.cachedKeys})`);
  // Changes made in place to objects the store handed out survive their write-back.
  for (let round = 1; round <= 3; round++) {
    for (let i = 0; i < 1000; i++) {
      const s = store.get(kgOf(i), `k${i}`)!;
      s.n++;
      s.seen.add(round);
    }
  }
  for (let i = 0; i < 1000; i += 2) store.delete(kgOf(i), `k${i}`);
  t.equal(store.get(kgOf(0), 'k0'), undefined, 'a deleted key is gone, though LMDB may still hold it');
  t.same(store.get(kgOf(1), 'k1'), { key: 'k1', n: 3, seen: new Set([1, 2, 3]) });
  t.equal(store.get(kgOf(1), 'nobody'), undefined);
  store.set(kgOf(4), 'k4', { key: 'k4', n: 99, seen: new Set() });
  t.equal(store.get(kgOf(4), 'k4')!.n, 99, 'set again after a delete');
  for (let kg = 0; kg < 3; kg++) {
    const want = Array.from({ length: 1000 }, (_, i) => i).filter((i) => kgOf(i) === kg && (i % 2 === 1 || i === 4)).map((i) => `k${i}`).sort();
    const got = [...store.values(kg)];
    t.same(got.map((s) => s.key).sort(), want, `key-group ${kg}: cached and stored keys, each once`);
    t.ok(got.every((s) => s.key === 'k4' || s.n === 3), 'with their latest state');
  }
  t.ok(store.get(kgOf(3), 'k3'));
  t.equal(store.get(kgOf(3) + 1, 'k3'), undefined, 'the same key in another key-group is another key');
});
