import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32c } from '../lib/shared/durability/crc32c.js';
import { keyflow, lines, spawnKeyflow } from './helpers/cli.js';
import { fixture } from './helpers/collect.js';
import { until } from './helpers/wait.js';
import { NdjsonSink } from '../lib/calling-thread/sinks/ndjson.js';

/** `keyflow run` and the files it is given: who owns them, which it refuses, how it fails on them. */
const MODULE = fileURLToPath(fixture('bad-input'));
const BIGINT = fileURLToPath(fixture('bigint'));

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-cli-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** `n` events over 5 keys, 10 ms apart: tumbling(100) windows of 10 events per key. */
const events = (n: number, from = 0) => Array.from({ length: n }, (_, i) => JSON.stringify({ k: `k${(from + i) % 5}`, t: (from + i) * 10, v: 1 })).join('\n') + '\n';
const sortedLines = async (p: string) => lines(await readFile(p, 'utf8')).sort();
const noStack = (t: Test, stderr: string) => t.notMatch(stderr, /\n\s+at /, 'no stack trace');

t.test('item 1: a second run on a state dir in use refuses at once; the first writes every result once', async (t) => {
  const dir = await scratch(t);
  const state = join(dir, 'state');
  const out = join(dir, 'out.ndjson');
  const input = join(dir, 'in.ndjson');
  await writeFile(input, events(3000));
  const reference = join(dir, 'reference.ndjson');
  t.equal((await keyflow(['run', MODULE, '--input', input, '--output', reference])).code, 0);

  // The first run reads stdin, which this test keeps open: it owns the state dir until stdin ends.
  const first = spawnKeyflow(['run', MODULE, '--input', '-', '--output', out, '--state', state, '--workers', '2']);
  first.child.stdin.write(events(1500));
  await until('the first run to lock the state dir', async () => (existsSync(join(state, 'LOCK'))
    && (await readFile(join(state, 'LOCK'), 'utf8')).split('\n')[0] === String(first.child.pid)) || undefined);
  const second = await keyflow(['run', MODULE, '--input', input, '--output', out, '--state', state, '--workers', '2']);
  t.not(second.code, 0, 'the second run fails');
  t.not(second.code, null, 'the second run did not hang');
  t.match(second.stderr, new RegExp(`keyflow: state directory ${state} is in use by process ${first.child.pid}`));
  noStack(t, second.stderr);

  // Another state dir, same output file: the output has one writer too.
  const third = await keyflow(['run', MODULE, '--input', input, '--output', out, '--state', join(dir, 'other-state')]);
  t.equal(third.code, 1);
  t.match(third.stderr, new RegExp(`keyflow: output ${out} is in use by process ${first.child.pid}`));

  first.child.stdin.end(events(1500, 1500));
  const ran = await first.done;
  t.equal(ran.code, 0, ran.stderr);
  t.same(await sortedLines(out), await sortedLines(reference), 'every result exactly once');
  t.notOk(existsSync(join(state, 'LOCK')), 'the lock is released at the end');
});

t.test('item 4: an output committed by another state dir is refused, saying what to remove', async (t) => {
  const dir = await scratch(t);
  const out = join(dir, 'out.ndjson');
  const input = join(dir, 'in.ndjson');
  await writeFile(input, events(200));
  const state = join(dir, 'state');
  const run = () => keyflow(['run', MODULE, '--input', input, '--output', out, '--state', state]);
  t.equal((await run()).code, 0);
  const old = await sortedLines(out);
  t.equal(old.length, 100);

  // Start over by deleting the state dir only, on new input: the old commit record would drop every result.
  await rm(state, { recursive: true });
  await writeFile(input, events(200, 1000));
  const refused = await run();
  t.equal(refused.code, 1);
  t.match(refused.stderr, `keyflow: ${out}.commit records results of another state directory`);
  t.match(refused.stderr, `To start over, remove ${out} and ${out}.commit`);
  noStack(t, refused.stderr);
  t.same(await sortedLines(out), old, 'the old output is left as it was');

  await rm(`${out}.commit`);
  await rm(state, { recursive: true, force: true });
  const fresh = await run();
  t.equal(fresh.code, 0, fresh.stderr);
  t.equal((await sortedLines(out)).length, 100, 'every new result written');
  t.notSame(await sortedLines(out), old);
});

t.test('item 4: a commit record from before state dir ids is refused by a fresh state dir', async (t) => {
  const dir = await scratch(t);
  const out = join(dir, 'out.ndjson');
  const input = join(dir, 'in.ndjson');
  await writeFile(input, events(200));
  const body = JSON.stringify({ length: 0, high: [[1, 5]] });
  await writeFile(out, '');
  await writeFile(`${out}.commit`, `${crc32c(Buffer.from(body))}\n${body}`);
  const r = await keyflow(['run', MODULE, '--input', input, '--output', out, '--state', join(dir, 'state')]);
  t.equal(r.code, 1);
  t.match(r.stderr, `${out}.commit records results of an earlier state directory`);
});

t.test('item 7: two flags naming one file are a usage error, and nothing is touched', async (t) => {
  const dir = await scratch(t);
  const input = join(dir, 'in.ndjson');
  await writeFile(input, events(50));
  await symlink(input, join(dir, 'link.ndjson'));
  const cases: Array<[string[], RegExp]> = [
    [['--output', join(dir, 'sub', '..', 'in.ndjson')], /--input and --output name the same file/],
    [['--output', join(dir, 'link.ndjson')], /--input and --output name the same file/],
    [['--output', join(dir, 'o'), '--errors', join(dir, 'o')], /--output and --errors name the same file/],
    [['--output', join(dir, 'o'), '--late', join(dir, 'o'), '--state', join(dir, 'state')], /--output and --late name the same file/],
    [['--output', '-', '--errors', '-'], /--output and --errors name the same stream/],
  ];
  await mkdir(join(dir, 'sub'));
  for (const [flags, message] of cases) {
    const r = await keyflow(['run', MODULE, '--input', input, ...flags]);
    t.equal(r.code, 2, flags.join(' '));
    t.match(r.stderr, message);
  }
  t.equal(await readFile(input, 'utf8'), events(50), 'the input is intact');
  t.notOk(existsSync(join(dir, 'o')), 'no output created');
});

t.test('item 7: with --state, a rerun keeps the late events (exactly once) and the dead letters', async (t) => {
  const dir = await scratch(t);
  const input = join(dir, 'in.ndjson');
  // A first batch (4096 lines) moves the watermark far on; the next batch's events at t=1 are late.
  const onTime = Array.from({ length: 4096 }, (_, i) => JSON.stringify({ k: 'a', t: i * 3, v: 1 }));
  await writeFile(input, [...onTime, '{not json', ...['x', 'y', 'z'].map((k) => JSON.stringify({ k, t: 1, v: 1 }))].join('\n') + '\n');
  const [out, late, errors] = ['out', 'late', 'errors'].map((f) => join(dir, `${f}.ndjson`));
  const args = ['run', MODULE, '--input', input, '--output', out, '--late', late, '--errors', errors, '--state', join(dir, 'state')];
  const first = await keyflow(args);
  t.equal(first.code, 0, first.stderr);
  const lateEvents = await sortedLines(late);
  t.same(lateEvents.map((l) => JSON.parse(l).k), ['x', 'y', 'z']);
  t.equal(lines(await readFile(errors, 'utf8')).length, 1);
  const results = await sortedLines(out);

  const again = await keyflow(args);
  t.equal(again.code, 0, again.stderr);
  t.same(await sortedLines(late), lateEvents, 'late events kept, each once');
  t.same(await sortedLines(out), results);
  const dead = lines(await readFile(errors, 'utf8')).map((l) => JSON.parse(l));
  t.ok(dead.length >= 1, 'dead letters of the first run kept');
  t.match(dead[0], { code: 'ERR_KEYFLOW_BAD_JSON', position: 4097 });
});

t.test('item 10: bad paths are one line and a non-zero exit, never a stack or a hang', async (t) => {
  const dir = await scratch(t);
  const input = join(dir, 'in.ndjson');
  await writeFile(input, events(50) + '{bad\n');
  await mkdir(join(dir, 'adir'));
  const file = join(dir, 'afile');
  await writeFile(file, '');
  const out = join(dir, 'out.ndjson');
  const cases: Array<[string[], RegExp]> = [
    [['--input', join(dir, 'missing.ndjson'), '--output', out], /^keyflow: --input \S+missing\.ndjson: no such file\n$/],
    [['--input', join(dir, 'adir'), '--output', out], /^keyflow: --input \S+ is a directory/],
    [['--input', input, '--output', join(dir, 'adir')], /^keyflow: --output \S+adir is a directory/],
    [['--input', input, '--output', join(dir, 'adir'), '--state', join(dir, 'state')], /^keyflow: --output \S+adir is a directory/],
    [['--input', input, '--output', out, '--late', join(dir, 'adir')], /^keyflow: --late \S+adir is a directory/],
    [['--input', input, '--output', out, '--errors', join(file, 'errors.ndjson')], /^keyflow: --errors \S+ cannot be created/],
    [['--input', input, '--output', join(dir, 'nodir', 'out.ndjson')], /^keyflow: --output \S+ cannot be created: directory \S+nodir does not exist/],
    // Accepted up front, failing on the first write (ENOSPC): caught, the engine stopped.
    [['--input', input, '--output', '/dev/full'], /keyflow: cannot write \/dev\/full: ENOSPC/],
    [['--input', input, '--output', out, '--errors', '/dev/full'], /keyflow: cannot write \/dev\/full: ENOSPC/],
    [['--input', input, '--output', '/dev/full', '--state', join(dir, 'state2')], /^keyflow: \/dev\/full is not a regular file/],
  ];
  for (const [flags, message] of cases) {
    const r = await keyflow(['run', MODULE, ...flags]);
    t.equal(r.code, 1, `${flags.join(' ')}: ${r.stderr}`);
    t.match(r.stderr, message);
    noStack(t, r.stderr);
  }
});

t.test('item 10: a write that failed before the end fails the run: closing its file says so', async (t) => {
  // The CLI hears a failed write while it reads and stops; one that fails after (a last dead letter) it
  // hears when it closes the file. Closing used to return quietly once a write had failed: the run exited 0.
  const sink = new NdjsonSink('/dev/full');
  await sink.write({ k: 'a' });
  await t.rejects(sink.failed, /cannot write \/dev\/full: ENOSPC/, 'the write failed');
  await t.rejects(sink.close(), /cannot write \/dev\/full: ENOSPC/, 'and closing the file rejects with it');
});

t.test('item 11: --on-error fail with several bad lines in a batch writes the first dead letter and names its line', async (t) => {
  const dir = await scratch(t);
  const input = join(dir, 'in.ndjson');
  await writeFile(input, ['{"k":"a","t":1,"v":1}', '{bad one', '{bad two', '{bad three', '{"k":"a","t":2,"v":1}'].join('\n') + '\n');
  const errors = join(dir, 'errors.ndjson');
  const r = await keyflow(['run', MODULE, '--input', input, '--output', join(dir, 'out.ndjson'), '--errors', errors, '--on-error', 'fail']);
  t.equal(r.code, 1);
  t.match(r.stderr, /keyflow: stopped at the first error \(onError: 'fail'\): parse at in\.ndjson:2: not valid JSON/);
  t.notMatch(r.stderr, /ERR_STREAM_PUSH_AFTER_EOF/);
  noStack(t, r.stderr);
  const dead = lines(await readFile(errors, 'utf8')).map((l) => JSON.parse(l));
  t.match(dead, [{ code: 'ERR_KEYFLOW_BAD_JSON', position: 2, raw: '{bad one' }]);
});

t.test('a result JSON cannot write becomes a dead letter, the run goes on (with and without --state)', async (t) => {
  const dir = await scratch(t);
  const input = join(dir, 'in.ndjson');
  await writeFile(input, ['{"k":"a","v":1}', '{"k":"b","v":2,"big":true}', '{"k":"c","v":3}'].join('\n') + '\n');
  for (const state of [[], ['--state', join(dir, 'state')]]) {
    const [out, errors] = ['out', 'errors'].map((f) => join(dir, `${f}${state.length}.ndjson`));
    const r = await keyflow(['run', BIGINT, '--input', input, '--output', out, '--errors', errors, ...state]);
    t.equal(r.code, 0, r.stderr);
    t.same((await sortedLines(out)).map((l) => JSON.parse(l).k), ['a', 'c']);
    const dead = lines(await readFile(errors, 'utf8')).map((l) => JSON.parse(l));
    t.match(dead, [{ code: 'ERR_KEYFLOW_BAD_VALUE', stage: 'output', pipeline: 'big', message: /output of pipeline 'big' to .*cannot be written as JSON: TypeError/ }]);
    t.match(r.stderr, /errors: +1\n/);
  }
});
