import t from 'tap';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';
import { keyflow } from './helpers/cli.js';

// Writes to /dev/full fail with ENOSPC: a real full disk, for one file, without mounting anything.
const FULL = '/dev/full';
const COUNTS = fixture('counts');
const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ k: `k${i % 5}`, t: from + i, v: 1 }));
const stateDirError = (file: RegExp) => ({ code: 'ERR_KEYFLOW_STATE_DIR', message: file });

t.test('a WAL segment that cannot be written fails ingest() and stop() with ERR_KEYFLOW_STATE_DIR naming the segment', { skip: !existsSync(FULL) && 'no /dev/full' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-enospc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const engine = await start({ module: COUNTS, workers: 1, stateDir: dir, snapshotEveryMs: 0 });
  // A fresh state logs to segment 0; the first checkpoint rotates the log to segment 1: the full disk.
  await mkdir(join(dir, 'wal', 'w1-actor-0'), { recursive: true });
  await symlink(FULL, join(dir, 'wal', 'w1-actor-0', '00000001.wal'));
  await engine.ingest(events(0, 100));
  await engine.checkpoint();
  const segment = /cannot write .*w1-actor-0\/00000001\.wal: ENOSPC: no space left on device.*; the disk is full/;
  await t.rejects(engine.ingest(events(100, 100)), stateDirError(segment));
  await t.rejects(engine.stop(), stateDirError(segment));
});

t.test('a snapshot that cannot be written fails the checkpoint with ERR_KEYFLOW_STATE_DIR naming the file', { skip: !existsSync(FULL) && 'no /dev/full' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-enospc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const engine = await start({ module: COUNTS, workers: 1, stateDir: dir, snapshotEveryMs: 0 });
  await mkdir(join(dir, 'snapshots', '00000001'), { recursive: true });
  await symlink(FULL, join(dir, 'snapshots', '00000001', 'actor-0.snap.tmp'));
  await engine.ingest(events(0, 100));
  const snapshot = /cannot write .*snapshots\/00000001\/actor-0\.snap: ENOSPC/;
  await t.rejects(engine.checkpoint(), stateDirError(snapshot));
  await t.rejects(engine.stop(), stateDirError(snapshot));
});

t.test('a manifest that cannot be written: the CLI prints one line naming it, rc 1', { skip: !existsSync(FULL) && 'no /dev/full' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-enospc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const state = join(dir, 'state');
  await mkdir(state);
  await symlink(FULL, join(state, 'MANIFEST.json.tmp'));
  const input = events(0, 200).map((e) => JSON.stringify(e)).join('\n') + '\n';
  const r = await keyflow(['run', fileURLToPath(COUNTS), '--input', '-', '--output', join(dir, 'out.ndjson'), '--state', state, '--workers', '1'], input);
  t.equal(r.code, 1);
  t.match(r.stderr, /^keyflow: cannot write .*state\/MANIFEST\.json: ENOSPC: no space left on device.*; the disk is full: free space, or use a state directory on another disk\n$/);
});

t.test('a directory in the way of the next WAL segment (EISDIR) fails the checkpoint with ERR_KEYFLOW_STATE_DIR naming it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-eisdir-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const engine = await start({ module: COUNTS, workers: 1, stateDir: dir, snapshotEveryMs: 0 });
  await mkdir(join(dir, 'wal', 'w1-actor-0', '00000001.wal'), { recursive: true });
  await engine.ingest(events(0, 10));
  const segment = /cannot write .*w1-actor-0\/00000001\.wal: EISDIR.*; a directory is in the way: remove it/;
  await t.rejects(engine.checkpoint(), stateDirError(segment));
  await t.rejects(engine.stop(), stateDirError(segment));
});

t.test('a directory in the way of a WAL segment to recover from fails start() with ERR_KEYFLOW_STATE_DIR naming it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-eisdir-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'wal', 'w1-actor-0', '00000000.wal'), { recursive: true });
  await t.rejects(start({ module: COUNTS, workers: 1, stateDir: dir }),
    stateDirError(/cannot read .*w1-actor-0\/00000000\.wal: EISDIR.*; a directory is in the way: remove it/));
});
