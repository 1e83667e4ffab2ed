import t, { type Test } from 'tap';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from './helpers/start.js';
import { readManifest } from '../lib/calling-thread/durability/manifest.js';
import { reportedElsewhere } from '../lib/shared/ignore.js';
import { fixture } from './helpers/collect.js';

const batch = (seq: number) => Array.from({ length: 1000 }, (_, i) => ({ k: `k${i % 7}`, i: seq * 1000 + i }));
const MODULE = fixture('emitter');

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-cleanup-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a sink that cannot commit fails the checkpoint: the manifest does not move past results the file lacks', async (t) => {
  const dir = await scratch(t);
  const stateDir = join(dir, 'state');
  const out = join(dir, 'out.ndjson');
  const first = await start({ module: MODULE, workers: 1, stateDir, snapshotEveryMs: 0 });
  first.writeResultsTo('emitter', out);
  await first.ingest(batch(0), { sourceId: 'p', seq: 0 });
  await first.checkpoint();
  mkdirSync(`${out}.commit.tmp`); // the next commit record cannot be written
  await first.ingest(batch(1), { sourceId: 'p', seq: 1 });
  await t.rejects(first.checkpoint(), { code: 'ERR_KEYFLOW_OUTPUT', message: /out\.ndjson\.commit/ });
  t.same(readManifest(stateDir)!.checkpoints.map((c) => c.id), [1], 'the failed checkpoint is not recorded');
  rmSync(`${out}.commit.tmp`, { recursive: true });
  await t.rejects(first.stop(), { code: 'ERR_KEYFLOW_OUTPUT' }, 'stop() reports the failure, once it has let everything go');

  const second = await start({ module: MODULE, workers: 1, stateDir, snapshotEveryMs: 0 });
  second.writeResultsTo('emitter', out);
  const from = second.resumePosition('p')!;
  const resend = Math.floor(from / 2 ** 21) + 1;
  t.equal(resend, 1, 'the producer resends batch 1');
  await second.ingest(batch(1), { sourceId: 'p', seq: 1 });
  await second.stop();
  const results = (await readFile(out, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l).i).sort((a, b) => a - b);
  t.same(results, Array.from({ length: 2000 }, (_, i) => i), 'every result once');
});

t.test('a lock that names this process but that no engine here holds is stale, and taken over', async (t) => {
  const stateDir = join(await scratch(t), 'state');
  mkdirSync(stateDir);
  writeFileSync(join(stateDir, 'LOCK'), `${process.pid}\n`); // as a killed process with the same pid would leave it
  const engine = await start({ module: MODULE, workers: 1, stateDir });
  await t.rejects(start({ module: MODULE, workers: 1, stateDir }), { code: 'ERR_KEYFLOW_STATE_DIR', message: /this process: another engine/ },
    'while it runs, it owns the directory');
  await engine.stop();
});

t.test('abort() ends the engine without a final checkpoint: a later start recovers and replays', async (t) => {
  const stateDir = join(await scratch(t), 'state');
  const first = await start({ module: MODULE, workers: 2, stateDir, snapshotEveryMs: 0 });
  await first.ingest(batch(0), { sourceId: 'p', seq: 0 });
  await first.abort();
  t.equal(readManifest(stateDir)?.checkpoints.length ?? 0, 0, 'no checkpoint taken');
  await t.rejects(first.ingest(batch(1)), { code: 'ERR_KEYFLOW_STOPPED' });

  const second = await start({ module: MODULE, workers: 2, stateDir, snapshotEveryMs: 0 });
  let replayed = 0;
  second.results('emitter').on('data', () => replayed++);
  t.equal(second.resumePosition('p'), undefined, 'nothing was checkpointed');
  await second.ingest(batch(0), { sourceId: 'p', seq: 0 }); // resent: the WAL already has it
  await second.stop();
  t.equal(replayed, 1000, 'the WAL replay gives each result once, the resent batch nothing more');
});

t.test('an output nested too deeply ends as a dead letter or a clean failure, never a crash or a hang', async (t) => {
  // Actors have a larger stack than the main thread: some depths they can encode and the main thread
  // cannot decode. Whatever the depth, the engine must report it and end.
  for (const depth of [3_000, 5_000, 8_000]) {
    const engine = await start({ module: MODULE, workers: 1 });
    let results = 0;
    const dead: string[] = [];
    engine.results('emitter').on('data', () => results++);
    engine.errors().on('data', (d) => dead.push(d.code));
    await engine.ingest([{ k: 'a', i: 1, depth }]).catch(reportedElsewhere);
    const ended = await engine.stop().then(() => 'stopped', (err: { code: string }) => err.code);
    const outcome = ended === 'stopped' ? (results === 1 ? 'delivered' : dead.join()) : ended;
    t.ok(['delivered', 'ERR_KEYFLOW_BAD_VALUE', 'ERR_KEYFLOW_WORKER'].includes(outcome), `depth ${depth}: ${outcome}`);
  }
});
