import t, { type Test } from 'tap';
import { appendFileSync, mkdirSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSegments, segmentName, walDir } from '../lib/shared/durability/state-layout.js';
import { WalWriter, readSegment, truncateBefore, walBytes } from '../lib/shared/durability/wal.js';

// Which files make an actor's WAL, in what order, how they are counted and deleted, and the byte-level
// edges of reading a segment back.

const frame = (n: number, size = 40) => new Uint8Array(size).fill(n);

async function stateDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-wal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('segments are listed in checkpoint order whatever order the directory returns them in', async (t) => {
  const dir = walDir(await stateDir(t), 1, 0);
  mkdirSync(dir, { recursive: true });
  // Many names, made in a shuffled order: a file system that lists by hash or by creation shows them out of order.
  const checkpoints = Array.from({ length: 200 }, (_, i) => (i * 7919) % 200 + 1);
  for (const checkpoint of checkpoints) writeFileSync(join(dir, segmentName(checkpoint)), '');
  t.same(listSegments(dir).map(([c]) => c), Array.from({ length: 200 }, (_, i) => i + 1));
});

t.test('segments are listed oldest first by checkpoint, other files ignored, and deleted before a checkpoint', async (t) => {
  const dir = walDir(await stateDir(t), 2, 1);
  t.match(dir, /w2-actor-1$/, 'one directory per layout and actor');
  t.same(listSegments(dir), [], 'no directory yet: no segments');
  const wal = new WalWriter(dir, 11);
  for (const checkpoint of [3, 12, 1, 10, 2, 7, 30, 4]) wal.rotate(checkpoint);
  wal.close();
  for (const stray of ['notes.txt', 'x00000005.wal', '00000006.wal.tmp', '0000005.wal']) writeFileSync(join(dir, stray), 'x');
  t.same(listSegments(dir), [1, 2, 3, 4, 7, 10, 11, 12, 30].map((c) => [c, join(dir, segmentName(c))]));
  truncateBefore(dir, 10);
  t.same(listSegments(dir).map(([c]) => c), [10, 11, 12, 30], 'segments wholly before checkpoint 10 are gone, 10 itself kept');
  t.equal(readdirSync(dir).length, 8, 'other files are left alone');
});

t.test('a writer counts the bytes it appends, and what is not yet synced', async (t) => {
  const dir = join(await stateDir(t), 'wal');
  const wal = new WalWriter(dir, 1);
  wal.append(frame(1, 40));
  wal.append(frame(2, 10));
  t.equal(wal.bytes, 48 + 18);
  t.equal(wal.unsynced, 48 + 18);
  wal.sync();
  t.equal(wal.unsynced, 0, 'synced');
  wal.append(frame(3, 5));
  t.equal(wal.bytes, 48 + 18 + 13);
  t.equal(wal.unsynced, 13);
  wal.close();
  t.equal(statSync(join(dir, segmentName(1))).size, wal.bytes, 'the file holds what was counted');
});

t.test('the bytes of WAL on disk are summed over every actor', async (t) => {
  const root = await stateDir(t);
  t.equal(walBytes(root), 0, 'no WAL yet');
  for (const [actor, frames] of [[0, 2], [1, 3]]) {
    const wal = new WalWriter(walDir(root, 2, actor), 1);
    for (let i = 0; i < frames; i++) wal.append(frame(i));
    wal.close();
  }
  t.equal(walBytes(root), 5 * 48);
});

t.test('a write that fails names the segment', async (t) => {
  const root = await stateDir(t);
  const notADir = join(root, 'file');
  writeFileSync(notADir, '');
  t.throws(() => new WalWriter(join(notADir, 'wal'), 1), { code: 'ERR_KEYFLOW_STATE_DIR', message: /file\/wal\/00000001\.wal/ });
  const dir = join(root, 'wal');
  const wal = new WalWriter(dir, 1);
  mkdirSync(join(dir, segmentName(2)));
  t.throws(() => wal.rotate(2), { code: 'ERR_KEYFLOW_STATE_DIR', message: /00000002\.wal/ }, 'a segment that cannot be opened');
});

t.test('a torn tail shorter than a record header, or of zeros, is cut; corruption says where', async (t) => {
  const dir = join(await stateDir(t), 'wal');
  const wal = new WalWriter(dir, 1);
  for (const n of [1, 2]) wal.append(frame(n));
  wal.close();
  const path = join(dir, segmentName(1));
  truncateSync(path, 96 + 3);
  // 3 bytes left after two whole records: not even a header.
  t.same(readSegment(path, true).frames.map((f) => f[0]), [1, 2]);
  t.equal(readSegment(path, true).tornBytes, 3);
  truncateSync(path, 96);
  appendFileSync(path, Buffer.alloc(16)); // a crash can leave zeros where a record was to be
  t.same(readSegment(path, true), { frames: [frame(1), frame(2)].map((f) => Buffer.from(f)), tornBytes: 16 });
  t.throws(() => readSegment(path, false), { code: 'ERR_KEYFLOW_CORRUPT_STATE', details: { path, offset: 96 } }, 'in an earlier segment: corruption at its offset');
});
