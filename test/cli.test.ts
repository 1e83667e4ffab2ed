import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { walBytes } from '../lib/shared/durability/wal.js';
import { keyflow, lines, spawnKeyflow, type Live, type Ran } from './helpers/cli.js';
import { fixture } from './helpers/collect.js';
import { until } from './helpers/wait.js';

const MODULE = fileURLToPath(fixture('bad-input'));

const INPUT = [
  '{"k":"a","t":1,"v":2}',
  '',
  '{not json',
  '{"k":"b","t":2,"v":3}',
  '{"t":3,"v":1}',
  '{"k":"a","t":150,"v":5}',
].join('\n') + '\n';

/**
 * SIGKILL a `keyflow run --state` once it has appended `bytes` to the WAL, so the kill falls at the same
 * point of the input however fast the machine is. A checkpoint deletes old segments: only growth counts.
 */
async function killOnceLogged(run: Live, state: string, bytes: number): Promise<Ran> {
  let last = walBytes(state);
  let grown = 0;
  await until(`the run to log ${bytes} bytes of WAL (or to end)`, () => {
    if (run.child.exitCode !== null || run.child.signalCode !== null) return true;
    const now = walBytes(state);
    grown += Math.max(0, now - last);
    last = now;
    return grown >= bytes ? true : undefined;
  });
  run.child.kill('SIGKILL');
  return run.done;
}

const RESULTS = [
  { key: 'a', windowStart: 0, windowEnd: 100, n: 1, total: 2 },
  { key: 'a', windowStart: 100, windowEnd: 200, n: 1, total: 5 },
  { key: 'b', windowStart: 0, windowEnd: 100, n: 1, total: 3 },
].map((r) => JSON.stringify(r)).sort();

t.test('keyflow run: files in and out, bad lines reported by line, summary on stderr', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.ndjson');
  await writeFile(input, INPUT);
  const out = join(dir, 'out.ndjson');
  const errors = join(dir, 'errors.ndjson');
  const r = await keyflow(['run', MODULE, '--input', input, '--output', out, '--errors', errors, '--workers', '2']);
  t.equal(r.code, 0, r.stderr);
  t.same(lines(await readFile(out, 'utf8')).sort(), RESULTS);
  const dead = lines(await readFile(errors, 'utf8')).map((l) => JSON.parse(l));
  t.match(dead.sort((a, b) => a.position - b.position), [
    { code: 'ERR_KEYFLOW_BAD_JSON', stage: 'parse', source: 'in.ndjson', position: 3, raw: '{not json' },
    { code: 'ERR_KEYFLOW_MISSING_KEY', stage: 'keyBy', source: 'in.ndjson', position: 5, pipeline: 'guarded' },
  ]);
  t.match(r.stderr, /error: parse at in\.ndjson:3: not valid JSON/);
  t.match(r.stderr, /error: keyBy\(\) of pipeline 'guarded' at in\.ndjson:5/);
  t.match(r.stderr, /events: +4\n/);
  t.match(r.stderr, /results: +3\n/);
  t.match(r.stderr, /errors: +2\n/);
  t.match(r.stderr, /throughput: +[\d,]+ events\/s/);
});

t.test('keyflow run: stdin to stdout', async (t) => {
  const r = await keyflow(['run', MODULE, '--input', '-', '--output', '-'], INPUT);
  t.equal(r.code, 0, r.stderr);
  t.same(lines(r.stdout).sort(), RESULTS);
});

t.test("keyflow run --on-error fail stops at the first bad line and exits 1", async (t) => {
  const r = await keyflow(['run', MODULE, '--input', '-', '--output', '-', '--on-error', 'fail'], INPUT);
  t.equal(r.code, 1);
  t.match(r.stderr, /keyflow: stopped at the first error \(onError: 'fail'\): parse at stdin:3: not valid JSON/);
});

t.test('keyflow generate: deterministic Nexmark events in the 1:3:46 mix', async (t) => {
  const a = await keyflow(['generate', '--events', '5000', '--seed', '9']);
  const b = await keyflow(['generate', '--events', '5000', '--seed', '9']);
  t.equal(a.code, 0);
  t.equal(a.stdout, b.stdout, 'same seed, same events');
  const kinds = lines(a.stdout).map((l) => JSON.parse(l).kind);
  t.same([kinds.filter((k) => k === 'person').length, kinds.filter((k) => k === 'auction').length, kinds.filter((k) => k === 'bid').length], [100, 300, 4600]);
  const c = await keyflow(['generate', '--events', '5000', '--seed', '10']);
  t.not(c.stdout, a.stdout, 'another seed, other events');
});

t.test('usage errors exit 2 with the usage text', async (t) => {
  const r = await keyflow(['run', MODULE]);
  t.equal(r.code, 2);
  t.match(r.stderr, /run reads events from --input \(a file, or - for stdin\) or from a NATS JetStream stream \(--from nats:\/\/HOST:PORT --stream STREAM\): one of them/);
  t.match(r.stderr, /usage:/);
  for (const [args, message] of [
    [['--input', '-', '--from', 'nats://127.0.0.1:4222', '--stream', 'S', '--output', '-'], /one of them/],
    [['--input', '-'], /run needs --output/],
    [['--from', 'nats://127.0.0.1:4222', '--output', '-'], /--from needs --stream/],
    [['--input', '-', '--output', '-', '--stream', 'S'], /--stream goes with --from/],
    [['--input', '-', '--output', '-', '--until-caught-up'], /--until-caught-up goes with --from/],
  ] as const) {
    const e = await keyflow(['run', MODULE, ...args]);
    t.equal(e.code, 2, args.join(' '));
    t.match(e.stderr, message, args.join(' '));
  }
  const u = await keyflow(['frobnicate']);
  t.equal(u.code, 2);
  t.match(u.stderr, /unknown command 'frobnicate'/);
  const w = await keyflow(['run', MODULE, '--input', '-', '--output', '-', '--workers', '0']);
  t.equal(w.code, 1);
  t.match(w.stderr, /workers must be an integer from 1/);
});

t.test('keyflow demo runs the main job and prints results and throughput', async (t) => {
  const r = await keyflow(['demo', '--events', '50000', '--workers', '2']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /result: \{"key":\d+,"windowStart":\d+,"windowEnd":\d+,"bids":\d+,"volume":\d+,"top":\d+\}/);
  t.match(r.stdout, /busiest windows:\n {2}auction \d+/);
  t.match(r.stdout, /events: +50,000\n/);
  t.match(r.stdout, /throughput: +[\d,]+ events\/s/);
});

t.test('keyflow run --state with a parallel source: killed with SIGKILL and run again on other worker counts, the output file is exact', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-cli-state-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'events.ndjson');
  const gen = await keyflow(['generate', '--events', '400000', '--seed', '3']);
  await writeFile(input, gen.stdout);
  const job = fileURLToPath(new URL('../examples/bids-per-auction.js', import.meta.url));
  const reference = join(dir, 'reference.ndjson');
  // The reference parses and routes on the calling thread; the killed runs use a pool of two.
  t.equal((await keyflow(['run', job, '--input', input, '--output', reference, '--source-threads', '0'])).code, 0);

  const out = join(dir, 'out.ndjson');
  const state = join(dir, 'state');
  const args = ['run', job, '--input', input, '--output', out, '--state', state, '--workers', '2', '--source-threads', '2'];
  // A whole run logs about 20 MB of WAL. Each run is killed once it has logged so much input of its
  // own: early in the input, past its middle, near its end; each restart rescales the state first.
  for (const [mb, workers] of [[1, 3], [9, 1], [16, 2]]) {
    const killed = await killOnceLogged(spawnKeyflow([...args.slice(0, -4), '--workers', String(workers), '--source-threads', '2']), state, mb * 2 ** 20);
    t.equal(killed.signal, 'SIGKILL', `killed after logging ${mb} MB with ${workers} workers, before its end: ${killed.stderr}`);
  }
  const last = await keyflow(args);
  t.equal(last.code, 0, last.stderr);
  const sortedLines = async (p: string) => lines(await readFile(p, 'utf8')).sort();
  const want = await sortedLines(reference);
  t.ok(want.length > 20_000, `${want.length} results`);
  t.ok((await sortedLines(out)).join('\n') === want.join('\n'), 'the same results as a run that never crashed, each once');

  const inspected = await keyflow(['inspect', state]);
  t.equal(inspected.code, 0);
  // The checkpoint before the last may be the one the rescaling pre-run took, recorded by the 2 workers.
  t.match(inspected.stdout, /checkpoints \(oldest first\):\n(?: {2}#.*\n)* {2}#\d+ .* workers 2 .* sources: events\.ndjson @ \d+\nlast checkpoint/);
  t.match(inspected.stdout, /WAL segments:\n(?: {2}.*\n)* {2}w2-actor-\d\/\d{8}\.wal/);
});
