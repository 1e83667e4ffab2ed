import t, { type Test } from 'tap';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSegments } from '../lib/shared/durability/state-layout.js';
import { WalWriter, readSegment } from '../lib/shared/durability/wal.js';

const frame = (n: number) => new Uint8Array(40).fill(n);

/** Two segments (after checkpoints 1 and 2) of three frames each; returns their paths. */
async function twoSegments(t: Test): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-wal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const wal = new WalWriter(dir, 1);
  for (const n of [1, 2, 3]) wal.append(frame(n));
  wal.rotate(2);
  for (const n of [4, 5, 6]) wal.append(frame(n));
  wal.close();
  return listSegments(dir).map(([, path]) => path);
}

t.test('an intact segment reads back every frame in order', async (t) => {
  const [first, last] = await twoSegments(t);
  t.same(readSegment(first, false).frames.map((f) => f[0]), [1, 2, 3]);
  t.same(readSegment(last, true), { frames: [frame(4), frame(5), frame(6)].map((f) => Buffer.from(f)), tornBytes: 0 });
});

t.test('a record cut short at the end of the last segment is a torn write: dropped and counted', async (t) => {
  const [, last] = await twoSegments(t);
  truncateSync(last, statSync(last).size - 10);
  const read = readSegment(last, true);
  t.same(read.frames.map((f) => f[0]), [4, 5]);
  t.equal(read.tornBytes, 48 - 10, 'the cut record\'s remaining bytes');
});

t.test('a record cut short at the end of an earlier segment is corruption, not a torn write', async (t) => {
  const [first] = await twoSegments(t);
  truncateSync(first, statSync(first).size - 10);
  t.throws(() => readSegment(first, false), { code: 'ERR_KEYFLOW_CORRUPT_STATE', message: /corrupt WAL record in .*00000001\.wal at offset 96: length runs past the end/ });
});

t.test('a last record that fails its CRC is torn only in the last segment', async (t) => {
  const [first, last] = await twoSegments(t);
  for (const path of [first, last]) {
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(path, bytes);
  }
  t.equal(readSegment(last, true).tornBytes, 48);
  t.throws(() => readSegment(first, false), { code: 'ERR_KEYFLOW_CORRUPT_STATE', message: /CRC mismatch/ });
});

t.test('a bad record followed by good ones is corruption even in the last segment', async (t) => {
  const [, last] = await twoSegments(t);
  const bytes = readFileSync(last);
  bytes[8 + 3] ^= 0xff; // the first record's payload
  writeFileSync(last, bytes);
  t.throws(() => readSegment(last, true), { code: 'ERR_KEYFLOW_CORRUPT_STATE', message: /at offset 0: CRC mismatch/ });
});
