import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from './helpers/start.js';
import { reportedElsewhere } from '../lib/shared/ignore.js';
import { fixture } from './helpers/collect.js';
import { CLI, runNode } from './helpers/cli.js';
import { until } from './helpers/wait.js';

const MODULE = fileURLToPath(fixture('runaway'));

/** 20 good events on several keys, then the faulty one on line 21, then one more. */
async function input(dir: string, fault: string): Promise<string> {
  const path = join(dir, 'in.ndjson');
  const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ k: `k${i}` }));
  await writeFile(path, [...lines, JSON.stringify({ k: 'x', fault }), JSON.stringify({ k: 'k0' })].join('\n') + '\n');
  return path;
}

/** One clear line: the failure once, no stack. */
function oneClearLine(t: Test, stderr: string, what: RegExp): void {
  const failures = stderr.split('\n').filter((l) => l.startsWith('keyflow: '));
  t.equal(failures.length, 1, `one failure line in: ${stderr}`);
  t.match(failures[0], what);
  t.notMatch(stderr, /\n\s+at /, 'no stack trace');
}

t.test('keyflow run: a call that never returns fails the run after --max-call-ms, naming pipeline, actor and line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-runaway-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await runNode([CLI, 'run', MODULE, '--input', await input(dir, 'loop'), '--output', join(dir, 'out.ndjson'), '--workers', '2', '--max-call-ms', '2000']);
  t.notOk(r.timedOut, `the run ends on its own (stderr: ${r.stderr})`);
  t.equal(r.code, 1);
  oneClearLine(t, r.stderr, /^keyflow: a call ran for more than maxCallMs \(2000 ms\) without progress; actor \d was applying the event at in\.ndjson:21 to pipeline 'runaway', key-group \d+\. .*--max-call-ms/);
});

t.test('keyflow run: an actor that runs out of memory fails the run, naming pipeline, actor and line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-oom-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // Worker threads take their heap limit from the process's.
  const r = await runNode(['--max-old-space-size=96', CLI, 'run', MODULE, '--input', await input(dir, 'oom'), '--output', join(dir, 'out.ndjson'), '--workers', '2']);
  t.notOk(r.timedOut, `the run ends on its own (stderr: ${r.stderr})`);
  t.equal(r.code, 1);
  oneClearLine(t, r.stderr, /^keyflow: an actor thread crashed \(.*out of memory\); actor \d was applying the event at in\.ndjson:21 to pipeline 'runaway', key-group \d+ — give the actors more memory/);
});

t.test('a failed engine still delivers the results its actors had released', async (t) => {
  const engine = await start({ module: fixture('runaway'), workers: 1, maxCallMs: 1000 });
  // Nobody reads the results until the end: the stream fills, the engine stops taking output, and the
  // rest of the released results wait in the actor's output ring.
  const results = engine.results('runaway');
  const events = Array.from({ length: 30_000 }, (_, i) => ({ k: `k${i % 10}` }));
  await engine.ingest(events);
  // The actor has applied every event (and released their results) once the last key has counted them.
  await until('the actor to have applied all 30,000 events', async () => {
    const state = await engine.query('runaway', 'k9') as { values: { seen: number } } | undefined;
    return state?.values.seen === 3000 ? true : undefined;
  });
  await engine.ingest([{ k: 'x', fault: 'loop' }]).catch(reportedElsewhere);
  await t.rejects(engine.stop(), { code: 'ERR_KEYFLOW_CALL_TIMEOUT', message: /actor 0 was applying the event at ingest event #30000 to pipeline 'runaway'/ });
  let delivered = 0;
  for await (const _ of results) delivered++;
  t.equal(delivered, 30_000, 'every released result reached the stream before it ended');
});

t.test('maxCallMs is validated', async (t) => {
  await t.rejects(start({ module: fixture('runaway'), maxCallMs: -1 }), { code: 'ERR_KEYFLOW_CONFIG', message: /maxCallMs must be an integer from 0/ });
  const r = await runNode([CLI, 'run', MODULE, '--input', '-', '--output', '-', '--max-call-ms', 'soon']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--max-call-ms takes an integer, got 'soon'/);
});
