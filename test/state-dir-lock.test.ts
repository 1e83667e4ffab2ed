import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

const MODULE = fixture('passthrough');

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

t.test('a second engine on a state dir is refused at once; after stop() the dir can be opened again', async (t) => {
  const stateDir = join(await scratch(t), 'state');
  const first = await start({ module: MODULE, workers: 1, stateDir });
  t.equal((await readFile(join(stateDir, 'LOCK'), 'utf8')).split('\n')[0], String(process.pid), 'the lock names its owner');
  await t.rejects(start({ module: MODULE, workers: 1, stateDir }), {
    code: 'ERR_KEYFLOW_STATE_DIR',
    message: new RegExp(`state directory ${stateDir} is in use by process ${process.pid}`),
  });
  await first.ingest([{ id: 1, pad: '' }]);
  await first.stop();
  t.notOk(existsSync(join(stateDir, 'LOCK')), 'stop() releases the lock');
  const second = await start({ module: MODULE, workers: 1, stateDir });
  await second.stop();
});

t.test('a lock left by a process that died is taken over', async (t) => {
  const stateDir = join(await scratch(t), 'state');
  await mkdir(stateDir);
  const dead = deadPid();
  await writeFile(join(stateDir, 'LOCK'), `${dead}\n`);
  const engine = await start({ module: MODULE, workers: 1, stateDir });
  t.equal((await readFile(join(stateDir, 'LOCK'), 'utf8')).split('\n')[0], String(process.pid));
  await engine.stop();
});

t.test('a lock left before the machine restarted is taken over, though its pid now runs', { skip: existsSync('/proc/sys/kernel/random/boot_id') ? false : 'no boot id on this system' }, async (t) => {
  const stateDir = join(await scratch(t), 'state');
  await mkdir(stateDir);
  // A power cut keeps the lock; after the reboot, its pid may belong to any process (here: the test runner).
  await writeFile(join(stateDir, 'LOCK'), `${process.ppid}\n00000000-0000-0000-0000-000000000000\n`);
  const engine = await start({ module: MODULE, workers: 1, stateDir });
  t.equal((await readFile(join(stateDir, 'LOCK'), 'utf8')).split('\n')[0], String(process.pid), 'this engine holds it now');
  await engine.stop();
});

t.test('a lock held by a live process is refused, naming the pid', async (t) => {
  const stateDir = join(await scratch(t), 'state');
  await mkdir(stateDir);
  await writeFile(join(stateDir, 'LOCK'), `${process.ppid}\n`);
  await t.rejects(start({ module: MODULE, workers: 1, stateDir }), { code: 'ERR_KEYFLOW_STATE_DIR', message: new RegExp(`in use by process ${process.ppid}`) });
  t.equal((await readFile(join(stateDir, 'LOCK'), 'utf8')).trim(), String(process.ppid), 'the owner keeps its lock');
});

t.test('rescaling holds the lock across the recovery run and the new engine', async (t) => {
  const stateDir = join(await scratch(t), 'state');
  const a = await start({ module: MODULE, workers: 2, stateDir });
  await a.ingest([{ id: 1, pad: '' }, { id: 2, pad: '' }]);
  await a.stop();
  const b = await start({ module: MODULE, workers: 1, stateDir });
  await t.rejects(start({ module: MODULE, workers: 1, stateDir }), { code: 'ERR_KEYFLOW_STATE_DIR' });
  await b.stop();
  t.notOk(existsSync(join(stateDir, 'LOCK')));
});

t.test('an exactly-once output has one writer: a second engine writing the same file is refused', async (t) => {
  const dir = await scratch(t);
  const output = join(dir, 'out.ndjson');
  const a = await start({ module: MODULE, workers: 1, stateDir: join(dir, 'a') });
  a.writeResultsTo('echo', output);
  const b = await start({ module: MODULE, workers: 1, stateDir: join(dir, 'b') });
  t.throws(() => b.writeResultsTo('echo', output), { code: 'ERR_KEYFLOW_STATE_DIR', message: new RegExp(`output ${output} is in use by process ${process.pid}`) });
  await b.stop();
  await a.ingest([{ id: 1, pad: 'x' }]);
  await a.stop();
  t.equal(await readFile(output, 'utf8'), '{"id":1,"pad":"x"}\n');
});
