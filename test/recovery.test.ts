import t, { type Test } from 'tap';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest } from '../lib/calling-thread/durability/manifest.js';
import { listSegments, snapshotDir } from '../lib/shared/durability/state-layout.js';
import { start } from './helpers/start.js';
import { expectedResults } from './fixtures/crash-events.js';
import { runChild } from './helpers/crash.js';
import { compareResults } from './helpers/results-file.js';
import { fixture } from './helpers/collect.js';

const EVENTS = 50_000;

async function scratch(t: Test): Promise<{ dir: string; args: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-recovery-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { dir, args: [join(dir, 'state'), join(dir, 'results.ndjson'), join(dir, 'acks.log'), String(EVENTS), '2'] };
}

/** Run the producer until it has acknowledged `batch`, then SIGKILL it (it does so itself, deterministically). */
async function crashAfter(args: string[], batch: number, env: Record<string, string> = {}) {
  const run = await runChild(args, undefined, { KILL_AFTER_BATCH: String(batch), ...env });
  if (run.signal !== 'SIGKILL') throw new Error(`expected a SIGKILL, got ${run.code}: ${run.stderr}`);
}

const segments = (stateDir: string) => readdirSync(join(stateDir, 'wal')).flatMap((a) =>
  readdirSync(join(stateDir, 'wal', a)).map((f) => join(stateDir, 'wal', a, f)));
/** The snapshot files of the checkpoint recovery would use: the manifest's latest, not merely the newest on disk. */
const latestSnapshots = (stateDir: string) => {
  const dir = snapshotDir(stateDir, readManifest(stateDir)!.checkpoints.at(-1)!.id);
  return readdirSync(dir).map((f) => join(dir, f));
};

t.test('a torn last WAL record is cut off and the run finishes exactly', async (t) => {
  const { dir, args } = await scratch(t);
  await crashAfter(args, 60);
  // A write cut short: a header promising 4000 bytes, and only some of them.
  // The active segment: actor 0's newest (it may be empty if a barrier has just rotated it).
  const tail = listSegments(join(args[0], 'wal', 'w2-actor-0')).at(-1)![1];
  const header = Buffer.alloc(8);
  header.writeUInt32LE(4000, 0);
  appendFileSync(tail, Buffer.concat([header, Buffer.alloc(123, 7)]));
  const run = await runChild(args);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /"tornBytes":131/, 'recovery reports the 131 torn bytes it cut off');
  const diff = compareResults(join(dir, 'results.ndjson'), expectedResults(EVENTS));
  t.same(diff, { duplicates: [], missing: 0, wrong: 0, extra: 0 });
});

t.test('a flipped byte inside the WAL stops start() with the file and offset', async (t) => {
  const { args } = await scratch(t);
  // No periodic checkpoints: every frame since the start is in segment 0, and will be replayed.
  await crashAfter(args, 60, { SNAPSHOT_EVERY_MS: '0' });
  const victim = segments(args[0]).find((p) => readFileSync(p).length > 200)!;
  const data = readFileSync(victim);
  data[20] ^= 0xff; // inside the first record's payload, with more records after it
  writeFileSync(victim, data);
  const run = await runChild(args);
  t.equal(run.code, 1);
  t.match(run.stderr, new RegExp(`corrupt WAL record in ${victim.replace(/[/.]/g, '\\$&')} at offset 0: CRC mismatch; refusing to start`));
});

t.test('a half-written snapshot (a crash mid-checkpoint) is ignored', async (t) => {
  const { dir, args } = await scratch(t);
  await crashAfter(args, 60);
  // What a crash while writing checkpoint N+1 leaves: a temp file, and no manifest entry.
  const next = join(args[0], 'snapshots', '99999999');
  mkdirSync(next, { recursive: true });
  writeFileSync(join(next, 'actor-0.snap.tmp'), Buffer.alloc(40, 1));
  const run = await runChild(args);
  t.equal(run.code, 0, run.stderr);
  t.same(compareResults(join(dir, 'results.ndjson'), expectedResults(EVENTS)), { duplicates: [], missing: 0, wrong: 0, extra: 0 });
});

t.test('a corrupt snapshot stops start(); repair falls back to the previous checkpoint, exactly', async (t) => {
  const { dir, args } = await scratch(t);
  await crashAfter(args, 120);
  const snap = latestSnapshots(args[0])[0];
  const data = readFileSync(snap);
  data[data.length - 3] ^= 0x55;
  writeFileSync(snap, data);
  const refused = await runChild(args);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /snapshot .*\.snap is corrupt: CRC mismatch over bytes 8\.\./);
  const repaired = await runChild(args, undefined, { REPAIR: '1' });
  t.equal(repaired.code, 0, repaired.stderr);
  t.same(compareResults(join(dir, 'results.ndjson'), expectedResults(EVENTS)), { duplicates: [], missing: 0, wrong: 0, extra: 0 });
});

t.test('an unusable state directory fails start() clearly', async (t) => {
  const { dir } = await scratch(t);
  writeFileSync(join(dir, 'a-file'), 'x');
  await t.rejects(start({ module: fixture('durable'), workers: 1, stateDir: join(dir, 'a-file', 'state') }), {
    code: 'ERR_KEYFLOW_STATE_DIR',
    message: /state directory .*a-file\/state is not writable: (ENOTDIR|EEXIST)/,
  });
});

t.test('a full disk fails ingest() and acknowledges nothing', async (t) => {
  const { dir } = await scratch(t);
  const stateDir = join(dir, 'state');
  const engine = await start({ module: fixture('durable'), workers: 1, stateDir, snapshotEveryMs: 0 });
  // The actor has read its (empty) WAL; the segment it is about to open is /dev/full, where every
  // write fails with ENOSPC.
  mkdirSync(join(stateDir, 'wal', 'w1-actor-0'), { recursive: true });
  symlinkSync('/dev/full', join(stateDir, 'wal', 'w1-actor-0', '00000000.wal'));
  await t.rejects(engine.ingest([{ k: 'a', t: 1, v: 1 }]), { code: 'ERR_KEYFLOW_STATE_DIR', message: /ENOSPC/ });
  await t.rejects(engine.ingest([{ k: 'a', t: 2, v: 1 }]), { code: 'ERR_KEYFLOW_STATE_DIR' }, 'and every later ingest');
  await t.rejects(engine.stop(), { code: 'ERR_KEYFLOW_STATE_DIR' });
});
