import t from 'tap';
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers/collect.js';
import { keyflow } from './helpers/cli.js';

const COUNTS = fileURLToPath(fixture('counts'));
const events = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => JSON.stringify({ k: `k${i % 7}`, t: from + i, v: 1 })).join('\n') + '\n';

async function flipByte(path: string, at: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at] ^= 0xff;
  await writeFile(path, bytes);
}

t.test('keyflow inspect checks every CRC: intact state is rc 0; a corrupt snapshot or WAL record is named with its offset, rc 1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-inspect-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'events.ndjson');
  const state = join(dir, 'state');
  const args = ['run', COUNTS, '--input', input, '--output', join(dir, 'out.ndjson'), '--state', state, '--workers', '1'];
  // Two runs, the second on appended input: WAL segment 1 then holds the second run's frames, and is not the last.
  await writeFile(input, events(0, 1500));
  t.equal((await keyflow(args)).code, 0);
  await appendFile(input, events(1500, 3000));
  t.equal((await keyflow(args)).code, 0);

  const intact = await keyflow(['inspect', state]);
  t.equal(intact.code, 0, intact.stderr);
  t.match(intact.stdout, /snapshots:\n {2}00000001\/actor-0\.snap {2}[\d.]+ \w+ {2}ok\n {2}00000002\/actor-0\.snap {2}[\d.]+ \w+ {2}ok\n/);
  t.match(intact.stdout, /WAL segments:\n {2}w1-actor-0\/00000001\.wal {2}[\d.]+ \w+ {2}ok\n/);
  t.match(intact.stdout, /every CRC checked: intact\n$/);

  const segment = join(state, 'wal', 'w1-actor-0', '00000001.wal');
  t.ok((await stat(segment)).size > 1000, 'segment 1 holds many records');
  await flipByte(segment, 8 + 3); // inside the first record's payload
  const snapshot = join(state, 'snapshots', '00000002', 'actor-0.snap');
  await flipByte(snapshot, (await stat(snapshot)).size - 1);
  const bad = await keyflow(['inspect', state]);
  t.equal(bad.code, 1);
  t.match(bad.stdout, /00000002\/actor-0\.snap .* CORRUPT: snapshot .*actor-0\.snap is corrupt: CRC mismatch over bytes 8\.\.\d+/);
  t.match(bad.stdout, /w1-actor-0\/00000001\.wal .* CORRUPT: corrupt WAL record in .*00000001\.wal at offset 0: CRC mismatch/);
  t.match(bad.stdout, /00000001\/actor-0\.snap .* ok\n/, 'the intact snapshot is still ok');
  t.match(bad.stdout, /2 corrupt file\(s\)\n$/);
  t.match(bad.stderr, /^keyflow: snapshot .*actor-0\.snap is corrupt.*\nkeyflow: corrupt WAL record in .*at offset 0/);

  await flipByte(join(state, 'MANIFEST.json'), 30);
  const manifest = await keyflow(['inspect', state]);
  t.equal(manifest.code, 1);
  t.match(manifest.stdout, /MANIFEST\.json CORRUPT: .*MANIFEST\.json is corrupt \(CRC mismatch\)/);
});

t.test('keyflow inspect of a missing path or of a directory that is not state: one clear line, rc 1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-inspect-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const missing = await keyflow(['inspect', join(dir, 'nope')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^keyflow: state directory .*nope does not exist\n$/);
  t.equal(missing.stdout, '');
  await mkdir(join(dir, 'other'));
  await writeFile(join(dir, 'other', 'notes.txt'), 'hello');
  const other = await keyflow(['inspect', join(dir, 'other')]);
  t.equal(other.code, 1);
  t.match(other.stderr, /^keyflow: .*other is not a keyflow state directory \(it holds no MANIFEST\.json, snapshots\/ or wal\/\)\n$/);
});
