import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from './helpers/start.js';
import { collectOutputs, fixture } from './helpers/collect.js';
import { keyflow, parseLines } from './helpers/cli.js';
import { within } from './helpers/wait.js';

const MODULE = fileURLToPath(fixture('bad-input'));
const DEEP_LINE = 57;

/** An object nested `levels` deep: more than the encoder's stack allows. */
const deep = (levels: number) => JSON.parse('{"d":'.repeat(levels) + '1' + '}'.repeat(levels));

/** 200 good lines (keys a, b, c; one window) and, at DEEP_LINE, an event nested 2,000 levels deep. */
function input(): string {
  const lines: string[] = [];
  for (let line = 1; line <= 200; line++) {
    lines.push(line === DEEP_LINE
      ? `{"k":"a","t":${line % 100},"v":1,"deep":${'{"d":'.repeat(2000)}1${'}'.repeat(2000)}}`
      : JSON.stringify({ k: 'abc'[line % 3], t: line % 100, v: 1 }));
  }
  return lines.join('\n') + '\n';
}

// The window pane of the deep event is combined where it is routed (window-combiner.ts): what crosses to its
// actor is the event's aggregate inputs, not the event, so nothing has to encode it.
t.test('keyflow run: an event nested 2,000 levels deep goes through with the rest, on the calling thread or source threads', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-deep-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'deep.ndjson');
  await writeFile(file, input());
  for (const [threads, stdin] of [['0', true], ['0', false], ['1', false]] as const) {
    const args = ['--output', '-', '--workers', '2', '--source-threads', threads];
    const r = stdin ? await keyflow(['run', MODULE, '--input', '-', ...args], input()) : await keyflow(['run', MODULE, '--input', file, ...args]);
    t.notOk(r.timedOut, 'the run finished (it hung, killed after 60 s)');
    t.equal(r.code, 0, r.stderr);
    t.equal(parseLines(r.stdout).reduce((n, x) => n + x.n, 0), 200, `source threads ${threads}${stdin ? ', stdin' : ''}: every event is counted`);
    t.match(r.stderr, /errors: {5}0\n/);
  }
});

t.test('keyflow run --state --source-threads 0: an event nested 2,000 levels deep is a dead letter naming its line; the rest go through', async (t) => {
  // With --state the input is an exactly-once source, whose events cross to their actors as themselves.
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-deep-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'deep.ndjson');
  await writeFile(file, input());
  const r = await keyflow(['run', MODULE, '--input', file, '--output', '-', '--workers', '2', '--source-threads', '0', '--state', join(dir, 'state')]);
  t.notOk(r.timedOut, 'the run finished (it hung, killed after 60 s)');
  t.equal(r.code, 0, r.stderr);
  t.equal(parseLines(r.stdout).reduce((n, x) => n + x.n, 0), 199, 'every other event is counted');
  t.match(r.stderr, new RegExp(`error: route\\(\\) of pipeline 'guarded' at deep\\.ndjson:${DEEP_LINE} \\(key "a"\\): the event cannot be encoded \\(RangeError: Maximum call stack size exceeded\\)`));
  t.match(r.stderr, /errors: {5}1\n/);
});

t.test('ingest() of an event that cannot be encoded resolves, and errors() reports it', async (t) => {
  const engine = await start({ module: fixture('bad-input'), workers: 1 });
  const { errors, results } = collectOutputs(engine, 'guarded');
  const bad = { k: 'b', t: 2, v: 1, deep: deep(2000) };
  // An exactly-once source: its events cross to their actors as themselves (they are never combined).
  await within(engine.ingest([{ k: 'a', t: 1, v: 1 }, bad, { k: 'a', t: 3, v: 1 }], { sourceId: 'events', seq: 0 }), 'ingest()');
  await within(engine.ingest([{ k: 'a', t: 4, v: 1 }], { sourceId: 'events', seq: 1 }), 'the next ingest()');
  await within(engine.stop(), 'stop()');
  t.same(results.map((r) => [r.key, r.n]), [['a', 3]]);
  t.match(errors, [{ code: 'ERR_KEYFLOW_BAD_VALUE', stage: 'route', pipeline: 'guarded', source: 'events', position: 1, key: 'b' }]);
  t.equal(errors[0].event, bad, 'the dead letter holds the event');
  t.equal(errors.length, 1);
});

t.test('a process function emitting a cyclic object gets a dead letter; the run goes on', async (t) => {
  const engine = await start({ module: fixture('emitter'), workers: 2 });
  const { errors, results } = collectOutputs(engine, 'emitter');
  await within(engine.ingest([{ k: 'x', i: 0 }, { k: 'y', i: 1 }, { k: 'x', i: 2, cyclic: true }, { k: 'x', i: 3 }, { k: 'y', i: 4 }]), 'ingest()');
  await within(engine.ingest([{ k: 'x', i: 5 }]), 'the next ingest()');
  await within(engine.stop(), 'stop()');
  t.same(results.map((r) => r.i).sort(), [0, 1, 3, 4, 5], 'the other results of the same frame, and later ones, are delivered');
  t.match(errors, [{ code: 'ERR_KEYFLOW_BAD_VALUE', pipeline: 'emitter', detail: /cannot be encoded \(RangeError: Maximum call stack size exceeded\)/ }]);
  t.equal(errors.length, 1);
});

t.test("a value holding a field named '__keys__' (which cbor-x reserves) is a dead letter, and the values after it are intact", async (t) => {
  const engine = await start({ module: fixture('bytes'), workers: 1 });
  const { errors, results } = collectOutputs(engine, 'bytes');
  // One-off shapes, Maps and Dates cross as cbor: an object with that key there wrote later objects with wrong keys.
  const values: unknown[] = [{ a: 1, __keys__: 2 }, { a: 5 }, new Map([[1, { a: 6 }]]), [{ b: 7, c: new Date(8) }]];
  for (const [seq, bytes] of values.entries()) await within(engine.ingest({ k: 'a', op: 'echo', seq, bytes }), `ingest() ${seq}`);
  await within(engine.ingest({ k: 'a', op: 'echo', seq: 9, bytes: new Map([[2, { a: 10 }]]) }), 'a later ingest()');
  await within(engine.stop(), 'stop()');
  t.match(errors, [{ code: 'ERR_KEYFLOW_BAD_VALUE', stage: 'route', message: /'__keys__'/ }], 'the value holding it is a dead letter, saying why');
  t.equal(errors.length, 1);
  t.same(results.map((r) => r.seq), [1, 2, 3, 9], 'the rest go through');
  t.same(results[0].bytes, { a: 5 });
  t.same([...results[1].bytes], [[1, { a: 6 }]]);
  t.same(results[2].bytes, [{ b: 7, c: new Date(8) }]);
  t.same([...results[3].bytes], [[2, { a: 10 }]], 'in later frames too');
});

t.test('a later stage\'s key that no frame can carry: each result is a dead letter, reported without its key or event; the rest go through', async (t) => {
  const engine = await start({ module: fixture('unsendable-keys'), workers: 2 });
  const { errors, results } = collectOutputs(engine, 'odd-keys');
  await engine.ingest(Array.from({ length: 300 }, (_, i) => ({ k: 'abc'[i % 3], t: Math.floor(i / 3) })));
  await within(engine.stop(), 'stop()');
  t.equal(errors.length, 10, 'a dead letter for each of key a\'s ten windows');
  t.match(errors[0]?.message, /of pipeline 'odd-keys'.*cannot be encoded.*its key and event are left out of this report/, 'it says what went wrong, and what the report leaves out');
  t.equal(results.length, 20, 'keys b and c: ten windows each');
  t.equal(results.reduce((n: number, r: { n: number }) => n + r.n, 0), 200, 'every event of b and c counted');
});
