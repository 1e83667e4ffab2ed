import t from 'tap';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from './helpers/start.js';
import { decodeGroup, encodeGroup, encodeSnapshot, readSnapshot } from '../lib/shared/durability/snapshot-file.js';
import { snapshotFiles } from '../lib/shared/durability/state-layout.js';
import { fixture } from './helpers/collect.js';

// Snapshots written before exactly-once positions were per pipeline hold one list per key-group: name → the
// highest position applied there, by any pipeline (the actor checked every pipeline's records against it).
// Restored, those positions must hold for every pipeline, or a producer resending from the checkpoint
// double counts in all pipelines but the first.

const events = Array.from({ length: 2_000 }, (_, i) => ({ k: `k${i % 7}`, t: i, v: i % 10 }));
const batches = Array.from({ length: 4 }, (_, b) => events.slice(b * 500, (b + 1) * 500));
const SUM = events.reduce((s, e) => s + e.v, 0);

/** Rewrite a checkpoint's snapshots as an older version wrote them: positions per key-group, not per pipeline. */
function asOlderSnapshots(stateDir: string, checkpoint: number): void {
  for (const file of snapshotFiles(stateDir, checkpoint)) {
    const snap = readSnapshot(file);
    for (const [kg, bytes] of Object.entries(snap.groups)) {
      const group = decodeGroup(bytes);
      const highest = new Map<string, number>();
      for (const [name, pos] of group.sources) highest.set(name, Math.max(pos, highest.get(name) ?? -Infinity));
      snap.groups[Number(kg)] = encodeGroup({ ...group, sources: [...highest] });
    }
    writeFileSync(file, encodeSnapshot(snap));
  }
}

t.test('restored from an older snapshot, every pipeline skips the events it applied before the checkpoint', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-pipelines-upgrade-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  const open = async () => {
    const engine = await start({ module: fixture('two-pipelines'), workers: 2, stateDir });
    engine.writeResultsTo('counts', join(dir, 'counts.ndjson'));
    engine.writeResultsTo('sums', join(dir, 'sums.ndjson'));
    return engine;
  };
  const first = await open();
  await first.ingest(batches[0], { sourceId: 'events', seq: 0 });
  const { id } = await first.checkpoint();
  await first.abort();
  asOlderSnapshots(stateDir, id);

  // The producer resends from the checkpoint: batch 0 is applied already, in both pipelines.
  const second = await open();
  for (const [seq, batch] of batches.entries()) await second.ingest(batch, { sourceId: 'events', seq });
  await second.stop();
  const lines = async (name: string) => (await readFile(join(dir, name), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>);
  const counted = (await lines('counts.ndjson')).reduce((n, r) => n + r.n, 0);
  const summed = (await lines('sums.ndjson')).reduce((n, r) => n + r.total, 0);
  t.same({ counted, summed }, { counted: events.length, summed: SUM }, 'both pipelines\' results hold every event once');
});
