/**
 * Egress written by the actors: results and late events bound for files or stdout reach them as NDJSON
 * lines the actors made, byte for byte what the calling thread writes from values; a record JSON cannot
 * write still becomes a dead letter; results nobody takes are counted and not delivered.
 */
import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeadLetter } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture, runEngine, sorted } from './helpers/collect.js';
import { keyflow, lines } from './helpers/cli.js';

const MODULE = fixture('egress');
const LABELS = ['plain', 'café', 'naïve €', '数据流', 'emoji 🚀', 'quote " and \\ backslash'];

/** Events over 40 keys, times mostly rising; every 37th is 40 ms behind (late for its closed window). */
function events(n: number, from = 0): Array<{ k: string; t: number; label: string }> {
  return Array.from({ length: n }, (_, i) => {
    const at = from + i;
    return { k: `key-${at % 40}`, t: at % 37 === 36 ? at - 40 : at, label: LABELS[at % LABELS.length] };
  });
}

const batches = (all: unknown[], size: number) => Array.from({ length: Math.ceil(all.length / size) }, (_, i) => all.slice(i * size, (i + 1) * size));

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-egress-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const sortedFile = async (path: string) => lines(await readFile(path, 'utf8')).sort();

t.test('files written from the actors\' NDJSON equal, byte for byte (sorted), files written from values, for 1, 2 and 4 workers', async (t) => {
  const dir = await scratch(t);
  const input = batches(events(6_000), 500);
  for (const workers of [1, 2, 4]) {
    const outputs: Record<string, { results: string; late: string; resultCount: number }> = {};
    for (const path of ['lines', 'values'] as const) {
      const engine = await start({ module: MODULE, pipelines: ['tally'], workers });
      const results = join(dir, `${path}-${workers}.ndjson`);
      const late = join(dir, `${path}-${workers}-late.ndjson`);
      engine.writeResultsTo('tally', results);
      engine.writeLateTo('tally', late);
      const streamed: unknown[] = [];
      // A results() stream takes values: the calling thread then writes the file from them.
      if (path === 'values') {
        engine.results('tally').on('data', (r) => streamed.push(r));
        engine.late('tally').on('data', () => {});
      }
      for (const b of input) await engine.ingest(b);
      const summary = await engine.stop();
      outputs[path] = { results: (await sortedFile(results)).join('\n'), late: (await sortedFile(late)).join('\n'), resultCount: summary.results };
      if (path === 'values') t.same(sorted(streamed), await sortedFile(results), `${workers} workers: the stream and the file agree`);
    }
    t.ok(outputs.lines.results.includes('数据流') && outputs.lines.late.includes('🚀'), `${workers} workers: text beyond ASCII made it through`);
    t.equal(outputs.lines.results, outputs.values.results, `${workers} workers: results`);
    t.equal(outputs.lines.late, outputs.values.late, `${workers} workers: late events`);
    t.equal(outputs.lines.resultCount, outputs.values.resultCount, `${workers} workers: counted alike`);
    t.equal(lines(outputs.lines.results).length, outputs.lines.resultCount);
  }
});

t.test('keyflow run with several pipelines writes each record as { pipeline, result } or { pipeline, event }, to a file and to stdout', async (t) => {
  const dir = await scratch(t);
  const all = events(3_000);
  const input = join(dir, 'in.ndjson');
  await writeFile(input, all.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const expected = await runEngine({ module: MODULE, workers: 2 }, [all]);
  const wrapped = (key: 'result' | 'event', by: Record<string, unknown[]>) => Object.entries(by).flatMap(([pipeline, rs]) => rs.map((r) => JSON.stringify({ pipeline, [key]: r }))).sort();
  t.ok(expected.late.tally?.length, 'the input has late events');

  const [out, late] = [join(dir, 'out.ndjson'), join(dir, 'late.ndjson')];
  const toFiles = await keyflow(['run', MODULE, '--input', input, '--output', out, '--late', late, '--workers', '2']);
  t.equal(toFiles.code, 0, toFiles.stderr);
  t.same(await sortedFile(out), wrapped('result', expected.results));
  t.same(await sortedFile(late), wrapped('event', expected.late));
  t.match(toFiles.stderr, new RegExp(`results: +${(expected.summary.results).toLocaleString('en-US')}\\n`));

  const toStdout = await keyflow(['run', MODULE, '--input', input, '--output', '-', '--workers', '3']);
  t.equal(toStdout.code, 0, toStdout.stderr);
  t.same(lines(toStdout.stdout).sort(), wrapped('result', expected.results));
});

t.test('a result JSON cannot write, made into NDJSON by an actor, becomes a dead letter naming the file and its number; the others are written', async (t) => {
  const dir = await scratch(t);
  const engine = await start({ module: fixture('bigint'), workers: 2 });
  const out = join(dir, 'out.ndjson');
  engine.writeResultsTo('big', out);
  const dead: DeadLetter[] = [];
  engine.errors().on('data', (d) => dead.push(d));
  await engine.ingest([{ k: 'a', v: 1 }, { k: 'b', v: 2, big: true }, { k: 'c', v: 3 }, { k: 'b', v: 4 }]);
  const summary = await engine.stop();
  t.same((await sortedFile(out)).map((l) => JSON.parse(l)), [{ k: 'a', v: 1 }, { k: 'b', v: 4 }, { k: 'c', v: 3 }]);
  t.match(dead, [{ code: 'ERR_KEYFLOW_BAD_VALUE', stage: 'output', pipeline: 'big', source: out, position: 1,
    message: new RegExp(`output of pipeline 'big' to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: record #1 cannot be written as JSON: TypeError: Do not know how to serialize a BigInt`) }]);
  t.equal(dead.length, 1);
  t.match(summary, { results: 4, errors: 1 });
});

t.test('results nobody takes are counted, not delivered; a stream asked for later gets what follows', async (t) => {
  const all = events(4_000);
  const expected = await runEngine({ module: MODULE, workers: 2 }, [all]);

  const engine = await start({ module: MODULE, workers: 2 });
  const echoed: unknown[] = [];
  engine.results('echo').on('data', (r) => echoed.push(r));
  await engine.ingest(all.slice(0, 2_000));
  // Asked for once input flows: tally's results until now were only counted by the actors.
  const tallied: Array<{ windowStart: number }> = [];
  engine.results('tally').on('data', (r) => tallied.push(r));
  await engine.ingest(all.slice(2_000));
  const summary = await engine.stop();

  t.equal(summary.results, expected.summary.results, 'every result counted');
  t.equal(summary.late, expected.summary.late, 'every late event counted');
  t.same(sorted(echoed), sorted(expected.results.echo), 'the stream asked for first got everything');
  const afterwards = expected.results.tally.filter((r: { windowStart: number }) => r.windowStart >= 2_000);
  const got = new Set(sorted(tallied));
  t.ok(afterwards.every((r: unknown) => got.has(JSON.stringify(r))), 'the stream asked for later got every result of the input after it');
  t.ok(tallied.length < expected.results.tally.length, 'and not those counted before it was asked for');
  const metrics = engine.metrics().pipelines;
  t.same(Object.fromEntries(metrics.map((p) => [p.name, p.results])), { tally: expected.results.tally.length, echo: expected.results.echo.length });

  const unread = await start({ module: MODULE, workers: 1 });
  await unread.ingest(all);
  const quiet = await unread.stop();
  t.equal(quiet.results, expected.summary.results, 'with no reader at all, counted alike');
  const none: unknown[] = [];
  for await (const r of unread.results('tally')) none.push(r);
  t.same(none, [], 'a stream asked for after the end gets nothing');
});

t.test('pipelines whose results interleave still write in batches: a large run to one file, no warnings', async (t) => {
  const dir = await scratch(t);
  const all = events(40_000);
  const input = join(dir, 'in.ndjson');
  await writeFile(input, all.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const out = join(dir, 'out.ndjson');
  const run = await keyflow(['run', MODULE, '--input', input, '--output', out, '--workers', '1']);
  t.equal(run.code, 0, run.stderr);
  t.notMatch(run.stderr, /Warning/, 'no MaxListenersExceededWarning (one wait for drain, shared)');
  t.equal(lines(await readFile(out, 'utf8')).filter((l) => l.startsWith('{"pipeline":"echo"')).length, 40_000, 'every echo result');
});

t.test('a result too long for a batch of lines reaches the file all the same (as a value)', async (t) => {
  const dir = await scratch(t);
  // Rings of 64 KiB (frames of 32 KiB): the long result's line (about 38 KB of JSON) fits no batch, its
  // value (the numbers as float64s) fits a frame.
  const engine = await start({ module: MODULE, workers: 2, ringBytes: 64 * 1024 });
  const out = join(dir, 'out.ndjson');
  engine.writeResultsTo('echo', out);
  const long = Array.from({ length: 1_000 }, (_, i) => i / 7);
  const input = events(200).map((e, i) => (i % 50 === 7 ? { ...e, label: long } : e));
  for (const batch of batches(input, 20)) await engine.ingest(batch);
  const summary = await engine.stop();
  const written = lines(await readFile(out, 'utf8')).map((l) => JSON.parse(l) as { label: unknown; echoed: string });
  t.equal(written.length, 200, 'every result');
  t.equal(written.filter((r) => JSON.stringify(r.label) === JSON.stringify(long) && r.echoed === `${long.join(',')} ✓`).length, 4, 'the long ones whole');
  t.match(summary, { errors: 0 }, 'no dead letter');
});
