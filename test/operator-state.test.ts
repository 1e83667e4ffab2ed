import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

const MODULE = fixture('operator-state');
const events = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ k: `k${(from + i) % 37}`, v: from + i }));

t.test('operator state is snapshotted with its actor and redistributed 4 → 2 workers (split and union)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-opstate-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const options = { module: MODULE, stateDir: dir, snapshotEveryMs: 0 };

  const four = await start({ ...options, workers: 4 });
  const flushed: number[] = [];
  four.results('buffered').on('data', (r) => flushed.push(...r.batch));
  await four.ingest(events(0, 130));
  const before = await four.operatorState('buffered');
  await four.stop(); // the final checkpoint holds each actor's lists
  t.equal(before.length, 4);
  const buffered = before.flatMap((s) => s.buffer as number[]);
  t.same([...flushed, ...buffered].sort((a, b) => a - b), events(0, 130).map((e) => e.v), 'every value is flushed or buffered, once');
  t.ok(buffered.length > 0, 'some values are still buffered');
  t.same(before.flatMap((s) => s.seen as number[]).sort((a, b) => a - b), events(0, 130).map((e) => e.v), 'the union lists together hold every value');

  const two = await start({ ...options, workers: 2 });
  const after = await two.operatorState('buffered');
  t.equal(after.length, 2);
  const half = Math.floor(buffered.length / 2);
  t.same(after.map((s) => s.buffer), [buffered.slice(0, half), buffered.slice(half)], 'split: the old buffers, concatenated in actor order, cut evenly');
  const seen = before.flatMap((s) => s.seen);
  t.same(after.map((s) => s.seen), [seen, seen], 'union: every actor gets all of it');
  const flushedAfter: number[] = [];
  two.results('buffered').on('data', (r) => flushedAfter.push(...r.batch));
  // One flush per actor (keys k0 … k36 cover both): what was buffered is written, nothing twice.
  await two.ingest(Array.from({ length: 37 }, (_, i) => ({ k: `k${i}`, v: -1, flush: true })));
  await two.stop();
  t.same(flushedAfter.sort((a, b) => a - b), [...buffered].sort((a, b) => a - b));

  const again = await start({ ...options, workers: 2 });
  t.same((await again.operatorState('buffered')).map((s) => s.buffer), [[], []], 'same worker count: each actor gets its own lists back');
  await again.stop();
});
