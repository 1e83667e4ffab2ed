import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers/collect.js';
import { exitWithin, ingested, keyflow, spawnKeyflow, lines, servedAt } from './helpers/cli.js';
import { until } from './helpers/wait.js';

const COUNTS = fileURLToPath(fixture('counts'));

// Part one: windows [0,100) and [100,200) of ten keys, then 'z' at 200 (its window ends with part one).
// Part two starts at 300, in windows of its own.
const event = (k: string, t: number, v: number) => JSON.stringify({ k, t, v });
const PART1 = [...Array.from({ length: 1000 }, (_, i) => event(`k${i % 10}`, Math.floor(i / 5), i)), event('z', 200, 1)];
const PART2 = Array.from({ length: 1000 }, (_, i) => event(`k${i % 10}`, 300 + Math.floor(i / 4), i));
const text = (ls: string[]) => ls.join('\n') + '\n';
const sortedLines = async (path: string) => lines(await readFile(path, 'utf8')).sort();

t.test('SIGTERM with --state: the run drains, writes what it read, prints the summary, exits 143; a rerun completes it exactly once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-signals-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const reference = join(dir, 'reference.ndjson');
  const ref = await keyflow(['run', COUNTS, '--input', '-', '--output', reference, '--workers', '2'], text([...PART1, ...PART2]));
  t.equal(ref.code, 0, ref.stderr);
  const want = await sortedLines(reference);
  t.equal(want.length, 10 * 2 + 1 + 10 * 3, 'the reference run: every window once');

  const out = join(dir, 'out.ndjson');
  const args = ['run', COUNTS, '--input', '-', '--output', out, '--state', join(dir, 'state'), '--workers', '2'];
  const first = spawnKeyflow([...args, '--serve', '0']);
  first.child.stdin.write(text(PART1)); // and stdin stays open
  await ingested(await servedAt(first), PART1.length);
  first.child.kill('SIGTERM');
  const ended = await exitWithin(first);
  t.same(ended, { code: 143, signal: null }, first.stderr());
  t.match(first.stderr(), /SIGTERM: reading no more input/);
  t.match(first.stderr(), /events: +1,001\n/, 'the summary');
  const windowStart = (l: string) => JSON.parse(l).windowStart as number;
  t.same(await sortedLines(out), want.filter((l) => windowStart(l) < 300), 'the output holds the results of everything read');

  const rerun = await keyflow(args, text([...PART1, ...PART2]));
  t.equal(rerun.code, 0, rerun.stderr);
  t.match(rerun.stderr, /resuming stdin after line 1001/);
  t.same(await sortedLines(out), want, 'every result exactly once, as in a run never interrupted');
});

t.test('SIGINT without state: the results of what was read, the summary, exit 130', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-signals-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'out.ndjson');
  const run = spawnKeyflow(['run', COUNTS, '--input', '-', '--output', out, '--workers', '2', '--serve', '0']);
  run.child.stdin.write(text(PART1));
  await ingested(await servedAt(run), PART1.length);
  run.child.kill('SIGINT');
  t.same(await exitWithin(run), { code: 130, signal: null }, run.stderr());
  t.match(run.stderr(), /events: +1,001\n/);
  t.equal((await sortedLines(out)).length, 21, 'every window of part one, fired at the end');
});

t.test('a second signal exits at once, while the first waits for a run that cannot drain', async (t) => {
  const run = spawnKeyflow(['run', fileURLToPath(fixture('stuck')), '--input', '-', '--output', '-', '--workers', '1', '--serve', '0']);
  run.child.stdin.write('{"k":"a","stuck":true}\n');
  const base = await servedAt(run);
  await ingested(base, 1);
  run.child.kill('SIGTERM');
  await until('the first SIGTERM acknowledged', () => (/SIGTERM: reading no more input/.test(run.stderr()) ? true : undefined));
  const alive = await fetch(`${base}/metrics`);
  t.equal(alive.status, 200, 'the first signal waits for the drain, which never comes');
  t.equal(run.child.exitCode, null);
  run.child.kill('SIGTERM');
  t.same(await exitWithin(run), { code: 143, signal: null }, run.stderr());
});
