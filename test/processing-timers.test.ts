import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from './helpers/start.js';
import { fixture, sorted } from './helpers/collect.js';
import { runScript, scriptResults, scriptSummary } from './helpers/script.js';
import { within } from './helpers/wait.js';

const MODULE = fixture('reminders');

t.test('processing-time timers fire on the wall clock, also while no input comes', async (t) => {
  const engine = await start({ module: MODULE, workers: 2 });
  const results: any[] = [];
  const fired = new Promise<void>((resolve) => engine.results('reminders').on('data', (r) => results.push(r) === 2 && resolve()));
  const t0 = Date.now();
  await engine.ingest([{ k: 'a', delay: 100 }, { k: 'b', delay: 200 }]);
  await within(fired, 'both timers to fire'); // before stop(): nothing but the clock makes them fire
  t.ok(Date.now() - t0 >= 200, 'not before they are due');
  t.same(sorted(results), sorted([{ key: 'a', domain: 'processing', onTime: true }, { key: 'b', domain: 'processing', onTime: true }]), 'each on time (two actors: in either order)');
  await engine.stop();
});

t.test('processing-time timers survive a SIGKILL: restored from the snapshot and from the WAL, each fires once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-ptimers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const options = { module: MODULE, workers: 2, stateDir: join(dir, 'state'), snapshotEveryMs: 0 };
  const a = { ingest: [{ k: 'a', delay: 1500 }, { k: 'c', delay: 1500 }], seq: 0 };
  const b = { ingest: [{ k: 'b', delay: 1500 }], seq: 1 };
  // a and c are in the checkpoint's snapshots, b only in the WAL; none is due when the process dies.
  const crashed = await runScript(dir, options, [a, { checkpoint: true }, b, { kill: true }]);
  t.equal(crashed.signal, 'SIGKILL', crashed.stderr);
  t.same(scriptResults(dir, 'reminders'), [], 'nothing fired before the crash');
  const resumed = await runScript(dir, options, [a, b, { sleepMs: 2500 }]);
  t.equal(resumed.code, 0, resumed.stderr);
  t.same(sorted(scriptResults(dir, 'reminders')), sorted(['a', 'b', 'c'].map((key) => ({ key, domain: 'processing', onTime: true }))));
  t.equal(scriptSummary(dir).recovery.checkpoint, 1);
});
