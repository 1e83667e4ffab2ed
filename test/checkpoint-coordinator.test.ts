import t from 'tap';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointCoordinator } from '../lib/calling-thread/durability/checkpoint-coordinator.js';
import { readManifest } from '../lib/calling-thread/durability/manifest.js';
import { listSegments, segmentName, snapshotDir } from '../lib/shared/durability/state-layout.js';

const record = (id: number) => ({ id, workers: 1, eventTimes: [], sources: [] });
const ack = { bytes: 10, keys: 1, pauseMs: 1 };

t.test('a checkpoint that completes after a newer one is not recorded, and the newer one keeps its files', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-coordinator-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  for (const id of [7, 8, 9]) {
    mkdirSync(snapshotDir(stateDir, id), { recursive: true });
    writeFileSync(join(snapshotDir(stateDir, id), 'actor-0.snap'), 'x');
  }
  let commits = 0;
  const c = new CheckpointCoordinator(stateDir, { version: 1, maxKeyGroups: 128, pipelines: ['p'], checkpoints: [] }, 1, () => { commits++; });
  const seven = c.expect(record(7));
  c.ack(7, ack);
  t.equal((await seven).id, 7);
  const eight = c.expect(record(8));
  const nine = c.expect(record(9));
  // Snapshot files are written asynchronously: 9's write finishes first.
  c.ack(9, ack);
  t.equal((await nine).id, 9);
  c.ack(8, ack);
  t.equal((await eight).id, 8, 'the late one still resolves');
  t.same(readManifest(stateDir)!.checkpoints.map((x) => x.id), [7, 9], 'the manifest keeps the newest last');
  t.ok(existsSync(join(snapshotDir(stateDir, 9), 'actor-0.snap')), "the latest checkpoint's snapshot is kept");
  t.ok(existsSync(join(snapshotDir(stateDir, 7), 'actor-0.snap')), 'and the previous one, for repair');
  t.equal(c.stats.lastId, 9);
  t.equal(commits, 2, 'the sinks committed at each recorded completion; the superseded one adds nothing');
});

t.test('completing a checkpoint keeps two and deletes older WAL segments and snapshots of every actor', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-retention-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const wals = ['w1-actor-0', 'w2-actor-0', 'w2-actor-1'].map((a) => join(stateDir, 'wal', a));
  for (const id of [5, 6, 7, 8, 9]) {
    mkdirSync(snapshotDir(stateDir, id), { recursive: true });
    writeFileSync(join(snapshotDir(stateDir, id), 'actor-0.snap'), 'x');
    for (const wal of wals) {
      mkdirSync(wal, { recursive: true });
      writeFileSync(join(wal, segmentName(id)), 'x');
    }
  }
  const c = new CheckpointCoordinator(stateDir, { version: 1, maxKeyGroups: 128, pipelines: ['p'], checkpoints: [] }, 1, () => {});
  for (const id of [7, 8]) {
    const done = c.expect(record(id));
    c.ack(id, ack);
    await done;
  }
  t.same(readManifest(stateDir)!.checkpoints.map((x) => x.id), [7, 8]);
  const kept = () => ({
    snapshots: readdirSync(join(stateDir, 'snapshots')).map(Number).sort((a, b) => a - b),
    wal: wals.map((w) => listSegments(w).map(([id]) => id)),
  });
  t.same(kept(), { snapshots: [7, 8, 9], wal: [[7, 8, 9], [7, 8, 9], [7, 8, 9]] }, 'older than the oldest kept checkpoint: deleted');
  const nine = c.expect(record(9));
  c.ack(9, ack);
  await nine;
  t.same(kept(), { snapshots: [8, 9], wal: [[8, 9], [8, 9], [8, 9]] }, 'a checkpoint later, checkpoint 7 goes too');
});

t.test('the snapshots of a checkpoint still being written are not deleted when newer ones complete first', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-coordinator-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const c = new CheckpointCoordinator(stateDir, { version: 1, maxKeyGroups: 128, pipelines: ['p'], checkpoints: [] }, 2, () => {});
  const complete = async (id: number) => {
    const done = c.expect(record(id));
    mkdirSync(snapshotDir(stateDir, id), { recursive: true });
    c.ack(id, ack);
    c.ack(id, ack);
    return done;
  };
  await complete(6);
  const seven = c.expect(record(7));
  mkdirSync(snapshotDir(stateDir, 7), { recursive: true });
  c.ack(7, ack); // actor 1 is still writing actor-1.snap of checkpoint 7 into its directory …
  await complete(8);
  await complete(9); // … while 8 and 9 complete: 7 is older than the oldest checkpoint kept (8)
  t.ok(existsSync(snapshotDir(stateDir, 7)), 'the directory an actor is still writing into is left alone');
  t.notOk(existsSync(snapshotDir(stateDir, 6)), 'an older completed one is deleted');
  c.ack(7, ack);
  await seven;
  t.same(readManifest(stateDir)!.checkpoints.map((x) => x.id), [8, 9], 'the late one is superseded, not recorded');
  await complete(10);
  t.notOk(existsSync(snapshotDir(stateDir, 7)), 'once written, it goes with the next prune');
});
