import t from 'tap';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers/collect.js';
import { keyflow } from './helpers/cli.js';

const COUNTS = fileURLToPath(fixture('counts'));

t.test('keyflow run --repair: a corrupt latest snapshot is refused naming --repair, and --repair resumes from the checkpoint before it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-repair-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.ndjson');
  await writeFile(input, Array.from({ length: 500 }, (_, i) => JSON.stringify({ k: `k${i % 7}`, t: i, v: 1 })).join('\n') + '\n');
  const state = join(dir, 'state');
  const args = ['run', COUNTS, '--input', input, '--output', join(dir, 'out.ndjson'), '--state', state, '--workers', '1'];
  for (let run = 0; run < 2; run++) t.equal((await keyflow(args)).code, 0, 'two runs: two checkpoints kept');
  const snapshots = (await readdir(join(state, 'snapshots'))).sort();
  t.equal(snapshots.length, 2);
  const latest = join(state, 'snapshots', snapshots[1], 'actor-0.snap');
  const bytes = await readFile(latest);
  bytes[bytes.length - 1] ^= 0xff;
  await writeFile(latest, bytes);

  const refused = await keyflow(args);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^keyflow: snapshot .*actor-0\.snap is corrupt: CRC mismatch.* run again with --repair to resume from the checkpoint before it\n$/);
  const repaired = await keyflow([...args, '--repair']);
  t.equal(repaired.code, 0, repaired.stderr);
  t.match(repaired.stderr, /events: +0\n/, 'the input was all read before: resumed past it');

  const misuse = await keyflow(['run', COUNTS, '--input', input, '--output', '-', '--repair']);
  t.equal(misuse.code, 2);
  t.match(misuse.stderr, /--repair needs --state/);
});
