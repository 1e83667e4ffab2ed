import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

// README: "Results are released by an actor only once the input that produced them is durable". An actor
// commits (fsyncs its WAL, then pushes its outputs) after it has applied a frame, so while it is still
// applying one, none of that frame's results may have reached the calling thread.
for (const durability of ['sync', 'batch'] as const) {
  t.test(`durability '${durability}': no result is released while the frame that produced it is still being applied (not yet fsynced)`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'keyflow-released-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const mark = join(dir, 'applied');
    const engine = await start({ module: fixture('burst-then-hold'), workers: 1, frameRecords: 64, stateDir: join(dir, 'state'), durability, snapshotEveryMs: 0 });
    let first: { appliedYet: boolean } | null = null;
    let n = 0;
    engine.results('burst').on('data', () => {
      n++;
      first ??= { appliedYet: existsSync(mark) };
    });
    // One frame: 500 results (several output frames' worth), then an event that takes 1.5 s to apply.
    await engine.ingest([{ k: 'a', burst: 500 }, { k: 'a', holdMs: 1500, mark }], { sourceId: 'p', seq: 0 });
    await engine.stop();
    t.equal(n, 500, 'every result delivered');
    t.same(first, { appliedYet: true }, 'the first result reached the calling thread only after its frame was applied and committed');
  });
}
