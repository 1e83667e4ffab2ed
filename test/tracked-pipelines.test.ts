import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Engine } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

// An exactly-once source's positions are deduplicated per pipeline: one event is a record for each pipeline,
// all at its position, and a second pipeline keyed like the first must not take its records for replays.

const events = Array.from({ length: 2_000 }, (_, i) => ({ k: `k${i % 7}`, t: i, v: i % 10 }));
const batches = Array.from({ length: 4 }, (_, b) => events.slice(b * 500, (b + 1) * 500));

/** Totals per pipeline: events counted by 'counts', values summed by 'sums'. */
function totals(engine: Engine): { counted: number; summed: number } {
  const out = { counted: 0, summed: 0 };
  engine.results('counts').on('data', (r: { n: number }) => (out.counted += r.n));
  engine.results('sums').on('data', (r: { total: number }) => (out.summed += r.total));
  return out;
}

const SUM = events.reduce((s, e) => s + e.v, 0);

t.test('every pipeline gets every event of an exactly-once source', async (t) => {
  for (const workers of [1, 3]) {
    const engine = await start({ module: fixture('two-pipelines'), workers });
    const got = totals(engine);
    for (const [seq, batch] of batches.entries()) await engine.ingest(batch, { sourceId: 'events', seq });
    await engine.stop();
    t.same(got, { counted: events.length, summed: SUM }, `workers ${workers}`);
  }
});

t.test('after recovery, every pipeline skips what it applied and takes the rest, exactly once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-pipelines-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const open = async (workers: number) => {
    const engine = await start({ module: fixture('two-pipelines'), workers, stateDir: join(dir, 'state') });
    engine.writeResultsTo('counts', join(dir, 'counts.ndjson'));
    engine.writeResultsTo('sums', join(dir, 'sums.ndjson'));
    return engine;
  };
  const first = await open(2);
  await first.ingest(batches[0], { sourceId: 'events', seq: 0 });
  await first.checkpoint();
  // Applied (and logged) but not checkpointed: replayed from the log, then sent again and skipped.
  await first.ingest(batches[1], { sourceId: 'events', seq: 1 });
  await first.abort();

  const second = await open(3);
  for (const [seq, batch] of batches.entries()) if (seq >= 1) await second.ingest(batch, { sourceId: 'events', seq });
  await second.stop();
  const lines = async (name: string) => (await readFile(join(dir, name), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>);
  const counted = (await lines('counts.ndjson')).reduce((n, r) => n + r.n, 0);
  const summed = (await lines('sums.ndjson')).reduce((n, r) => n + r.total, 0);
  t.same({ counted, summed }, { counted: events.length, summed: SUM }, 'both pipelines\' results hold every event once');
});
