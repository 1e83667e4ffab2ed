import t from 'tap';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyflow } from './helpers/cli.js';
import { fixture } from './helpers/collect.js';

const MODULE = fileURLToPath(fixture('bad-input'));

// Five keys, times rising by 3 ms per line, every other line 800 ms behind (the fixture allows 1 s out of
// order): at the end of the first part the windows of its last second are still open, and the appended
// lines add to them.
const line = (i: number) => JSON.stringify({ k: `k${i % 5}`, t: i * 3 - (i % 2 === 0 ? 800 : 0), v: i % 7 }) + '\n';
const text = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i)).join('');
const sortedLines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean).sort();

t.test('a completed run resumed on appended input gives the results of one run over all of it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-resume-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const whole = join(dir, 'whole.ndjson');
  await writeFile(whole, text(0, 2000));
  const reference = join(dir, 'reference.ndjson');
  const r0 = await keyflow(['run', MODULE, '--input', whole, '--output', reference, '--workers', '2']);
  t.equal(r0.code, 0, r0.stderr);

  const input = join(dir, 'events.ndjson');
  const out = join(dir, 'out.ndjson');
  const args = ['run', MODULE, '--input', input, '--output', out, '--state', join(dir, 'state'), '--workers', '2'];
  await writeFile(input, text(0, 1000));
  const first = await keyflow(args);
  t.equal(first.code, 0, first.stderr);
  const afterFirst = await sortedLines(out);
  t.ok(afterFirst.some((l) => JSON.parse(l).windowStart === 2900), 'the first run fired the windows still open at its end');

  await appendFile(input, text(1000, 2000));
  const second = await keyflow(args);
  t.equal(second.code, 0, second.stderr);
  t.match(second.stderr, /resuming events\.ndjson after line 1000/);
  const want = await sortedLines(reference);
  const got = await sortedLines(out);
  t.equal(got.length, want.length, `${want.length} results, each once`);
  t.ok(got.join('\n') === want.join('\n'), 'the same results as one run over all the input');

  const third = await keyflow(args);
  t.equal(third.code, 0, third.stderr);
  t.ok((await sortedLines(out)).join('\n') === want.join('\n'), 'a run with nothing new changes nothing');
});
