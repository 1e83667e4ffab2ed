import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StartOptions } from '../lib/index.js';
import { start } from './helpers/start.js';
import { readManifest } from '../lib/calling-thread/durability/manifest.js';
import { snapshotDir } from '../lib/shared/durability/state-layout.js';
import { fixture } from './helpers/collect.js';

const MODULE = fixture('windows');

async function stateDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-refusals-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'state');
}

/** Run once over a few events and stop (a final checkpoint). */
async function runOnce(options: StartOptions): Promise<void> {
  const engine = await start(options);
  await engine.ingest([{ k: 'a', t: 1 }, { k: 'b', t: 12 }]);
  await engine.stop();
}

t.test('a state dir refuses an engine with other key-groups or other pipelines, saying why', async (t) => {
  const dir = await stateDir(t);
  await runOnce({ module: MODULE, pipelines: ['tumble'], workers: 1, stateDir: dir });
  await t.rejects(start({ module: MODULE, pipelines: ['tumble'], workers: 1, stateDir: dir, maxKeyGroups: 64 }),
    { code: 'ERR_KEYFLOW_CONFIG', message: /was written with maxKeyGroups 128, not 64: key-groups are fixed for the life of the state/ });
  await t.rejects(start({ module: MODULE, pipelines: ['tumble', 'slide'], workers: 1, stateDir: dir }),
    { code: 'ERR_KEYFLOW_CONFIG', message: /belongs to pipelines \["tumble"\], not \["tumble","slide"\]/ });
  await runOnce({ module: MODULE, pipelines: ['tumble'], workers: 2, stateDir: dir });
  t.pass('the engine it belongs to still starts on it');
});

t.test('a corrupt latest snapshot fails start() with ERR_KEYFLOW_CORRUPT_STATE; repair with no earlier checkpoint still refuses', async (t) => {
  const dir = await stateDir(t);
  await runOnce({ module: MODULE, pipelines: ['tumble'], workers: 1, stateDir: dir });
  const checkpoints = readManifest(dir)!.checkpoints;
  t.equal(checkpoints.length, 1, 'one checkpoint: the one stop() took');
  const snap = join(snapshotDir(dir, checkpoints[0].id), 'actor-0.snap');
  const bytes = readFileSync(snap);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(snap, bytes);
  await t.rejects(start({ module: MODULE, pipelines: ['tumble'], workers: 1, stateDir: dir }), { code: 'ERR_KEYFLOW_CORRUPT_STATE', message: /actor-0\.snap/ });
  await t.rejects(start({ module: MODULE, pipelines: ['tumble'], workers: 1, stateDir: dir, repair: true }), { code: 'ERR_KEYFLOW_CORRUPT_STATE' },
    'nothing older to fall back to');
});
