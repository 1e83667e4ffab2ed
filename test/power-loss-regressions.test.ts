/**
 * The defects the power-loss harness (power-loss.test.ts) found, each kept as a test of the state that
 * showed it, cheaper and more direct than the harness's sweep.
 */
import './helpers/start.js';
import t, { type Test } from 'tap';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckJob } from './fixtures/power-loss-child.js';
import { killedRun, readTrace, run } from './helpers/power-loss/child.js';
import { CrashModel } from './helpers/power-loss/crash-states.js';
import type { TraceOp } from './helpers/power-loss/fs-recorder.js';

const EVENTS = 6_000;

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-power-loss-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Recover on `dir` with `workers`, send the events from `fromEvent` on, stop: how the output compares. */
async function recoverAndFinish(dir: string, workers: number, fromEvent: number): Promise<Record<string, unknown>> {
  const jobs: CheckJob[] = [{ id: 0, dir, workers, fromEvent, released: {} }];
  const file = join(dir, '..', `${workers}.jobs.json`);
  writeFileSync(file, JSON.stringify(jobs));
  const r = await run(['check', file, String(EVENTS)], {}, false);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

for (const first of [
  { when: 'after a checkpoint', killAfter: 3_999, env: { CHECKPOINT_EVERY: '2' } },
  { when: 'before any checkpoint', killAfter: 2_999, env: { CHECKPOINT_EVERY: '0' } },
]) {
  t.test(`2 workers killed ${first.when}, then 3: input the 3 acknowledged before a checkpoint of their own survives a crash (and a second rescale)`, async (t) => {
    const root = join(await scratch(t), 'run');
    mkdirSync(root);
    await killedRun(root, EVENTS, 2, first.killAfter, first.env);
    // Rescaled from that state, acknowledges up to event 4999 and is killed before any checkpoint of its own.
    await killedRun(root, EVENTS, 3, 4_999, { CHECKPOINT_EVERY: '0' });
    const again = join(root, '..', 'again');
    cpSync(root, again, { recursive: true });
    const exact = { id: 0, duplicates: [], missing: 0, wrong: 0, extra: 0 };
    // A producer that trusts the acknowledgements sends only what follows them.
    t.same(await recoverAndFinish(root, 3, 5_000), exact, 'recovered by the same count: every acknowledged event counted once');
    t.same(await recoverAndFinish(again, 4, 5_000), exact, 'rescaled again, to 4: every acknowledged event counted once');
  });
}

t.test("an exactly-once output's name is durable before any commit record names its length", async (t) => {
  const dir = await scratch(t);
  const root = join(dir, 'run');
  mkdirSync(root);
  const recorded = await run(['record', root, String(EVENTS), '2', 'batch'], { KEYFLOW_FS_TRACE: join(dir, 'trace') });
  t.equal(recorded.code, 0, recorded.stderr);
  const trace = readTrace(join(dir, 'trace'));
  const model = new CrashModel(root, new Map(), trace);
  const output = join(root, 'results.ndjson');
  // From the first rename of a commit record into place (which a power cut may keep), the output's name must be durable.
  let committed = false;
  const exposed: number[] = [];
  for (let point = 1; point <= model.length; point++) {
    const call = model.callOf(point - 1);
    committed ||= call.op === 'rename' && call.to === `${output}.commit`;
    if (committed && model.pendingAt(point).some((op) => op.op === 'create' && op.path === output)) exposed.push(point);
  }
  t.ok(committed, 'the run committed its output');
  t.same(exposed, [], 'at no point could the commit record outlive the output');
});

t.test('what recovery replays from the WAL is durable before any result of it is released', async (t) => {
  const dir = await scratch(t);
  const root = join(dir, 'run');
  mkdirSync(root);
  // Killed once its last batch is acknowledged: windows fired, nothing checkpointed; its WAL may still be in
  // the page cache alone (its last records not yet synced when it died).
  await killedRun(root, EVENTS, 2, EVENTS - 1, { CHECKPOINT_EVERY: '0' });
  const recorded = await run(['record', root, String(EVENTS), '2', 'batch'], { KEYFLOW_FS_TRACE: join(dir, 'trace') });
  t.equal(recorded.code, 0, recorded.stderr);
  const trace = readTrace(join(dir, 'trace'));
  const firstRelease = trace.findIndex((op) => op.op === 'mark' && 'release' in op.mark);
  t.ok(firstRelease > 0, 'the replay released results');
  const segments = ['w2-actor-0', 'w2-actor-1'].map((actor) => join(root, 'state', 'wal', actor, '00000000.wal'));
  for (const segment of segments) {
    const synced = trace.findIndex((op) => op.op === 'fsync' && op.path === segment);
    t.ok(synced >= 0 && synced < firstRelease, `${segment.slice(root.length + 1)} is fsynced (call ${synced}) before the first result is released (call ${firstRelease})`);
  }
});

// Threads log their calls after making them. Two actors' mkdirDurable of one snapshot directory: the one whose
// mkdir found it made syncs its parent, and that line may come before the other's lines that made it.
t.test('the crash model takes a directory synced by one thread before the line of the thread that made it', async (t) => {
  const root = '/state-root';
  const trace: TraceOp[] = [
    { op: 'mkdir', path: `${root}/state` },
    { op: 'fsync', path: `${root}/state/snapshots` },
    { op: 'mkdir', path: `${root}/state/snapshots` },
    { op: 'mkdir', path: `${root}/state/snapshots/00001` },
    { op: 'fsync', path: `${root}/state` },
  ];
  t.equal(new CrashModel(root, new Map(), trace).length, 5, 'each call is one operation: made once, synced twice');
  t.throws(() => new CrashModel(root, new Map(), trace.filter((op) => op.op !== 'mkdir' || !op.path.endsWith('snapshots'))), /the trace uses \/state-root\/state\/snapshots, which is not there/,
    'a directory no line makes is still an error');
});
