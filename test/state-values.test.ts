/**
 * Values of every kind a process function keeps in its state (Maps, Sets, Dates, objects of one shape over
 * and over and of many shapes, numbers of every width, undefined) come back as they were: within a run, and
 * restored from a checkpoint's snapshot by the next run on the same state directory.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartOptions } from '../lib/index.js';
import { Encoder } from '../lib/shared/codec/cbor.js';
import { decodeGroup, encodeGroup, encodeSnapshot, readSnapshot, type ActorSnapshot } from '../lib/shared/durability/snapshot-file.js';
import { stateEncoder } from '../lib/shared/codec/cbor.js';
import { writeFile } from 'node:fs/promises';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';
import { kept, type Ev } from './fixtures/kinds-in-state.js';

const KEYS = Array.from({ length: 40 }, (_, i) => `k${i}`);

async function run(options: StartOptions, events: Ev[]): Promise<Array<{ key: string; kept: Record<string, unknown> }>> {
  const engine = await start({ module: fixture('kinds-in-state'), workers: 2, ...options });
  const results: Array<{ key: string; kept: Record<string, unknown> }> = [];
  engine.results('kinds').on('data', (r) => results.push(r));
  await engine.ingest(events);
  await engine.stop();
  return results.sort((a, b) => a.key.localeCompare(b.key, 'en'));
}

function check(t: Test, results: Array<{ key: string; kept: Record<string, unknown> }>): void {
  t.equal(results.length, KEYS.length, 'a result per key');
  for (const r of results) {
    const want = kept(Number(r.key.slice(1)));
    t.same(r.kept, want, `${r.key}: what it kept`);
    t.ok(r.kept.map instanceof Map && (r.kept.map as Map<unknown, unknown>).get('x') instanceof Map, `${r.key}: Maps are Maps`);
    t.ok(r.kept.emptyMap instanceof Map && r.kept.set instanceof Set && r.kept.date instanceof Date, `${r.key}: an empty Map, a Set and a Date are too`);
    t.same(Object.keys(r.kept), Object.keys(want), `${r.key}: its fields in their order`);
  }
}

const keep: Ev[] = KEYS.map((k, n) => ({ k, op: 'keep', n }));
const flush: Ev[] = KEYS.map((k) => ({ k, op: 'flush' }));

t.test('within a run', async (t) => {
  check(t, await run({}, [...keep, ...flush]));
});

for (const stateBackend of ['memory', 'lmdb'] as const) {
  t.test(`restored from a snapshot by the next run (${stateBackend} state)`, async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-state-values-'));
    t.teardown(() => rm(stateDir, { recursive: true, force: true }));
    t.same(await run({ stateDir, stateBackend }, keep), [], 'keeping emits nothing');
    check(t, await run({ stateDir, stateBackend }, flush));
  });
}

t.test('a key-group written as snapshots were before (cbor-x walking each object with for-in) reads as one written now', async (t) => {
  const group = { outputs: [3, 0], sources: [['file:a', 17]] as Array<[string, number]>, operators: [KEYS.map((k, n) => [k, kept(n)])] };
  const before = decodeGroup(new Encoder({ useRecords: false }).encode(group));
  t.same(before, group, 'the same values, Maps, Sets and Dates included');
  t.same(decodeGroup(encodeGroup(group)), before, 'and as written now');
});

t.test('a snapshot file holds, byte for byte, the CBOR of its whole snapshot (its key-groups\' bytes put in place, not encoded again), and reads back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-snapshot-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const group = (kg: number, length: number) => Uint8Array.from({ length }, (_, i) => (kg + i) & 0xff);
  // Key-group counts and byte lengths at each width of a CBOR count (1, 2, 3 and 5 bytes).
  for (const [count, length] of [[0, 0], [1, 0], [1, 23], [23, 24], [24, 255], [300, 256], [3, 65_535], [2, 65_536]]) {
    const snapshot: ActorSnapshot = {
      checkpoint: 7, watermarks: [1_700_000_000_000.5, -Infinity], seq: 12, sources: [[0, { name: 'file:a.ndjson', tracked: true }]],
      operatorState: [null, { kept: [1, 2] }], waiting: [[1, 3, 10, 2, 5, 'key', { v: 1 }]],
      groups: Object.fromEntries(Array.from({ length: count }, (_, i) => [(i * 37) % 32_768, group(i, length)])),
    };
    const file = encodeSnapshot(snapshot);
    t.same(file.subarray(8), Buffer.from(stateEncoder().encode(snapshot)), `${count} key-groups of ${length} bytes: the bytes cbor-x writes`);
    const path = join(dir, `${count}-${length}.snap`);
    await writeFile(path, file);
    t.same(readSnapshot(path), snapshot, 'read back (the CRC checked)');
  }
});
