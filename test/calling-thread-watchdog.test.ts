/**
 * keyflow run ends a run stuck in a pipeline's stateless functions (filter, map, keyBy, eventTime run on
 * the calling thread, whose timers cannot fire then) after --max-call-ms, with one line naming the
 * pipeline and the input line; ordinary work, waits on the actors included, never sets it off.
 */
import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers/collect.js';
import { keyflow, lines } from './helpers/cli.js';

const MODULE = fileURLToPath(fixture('calling-thread'));

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-calling-thread-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

// With --source-threads 0 the stateless functions run on the calling thread, watched from another thread;
// with a pool of source threads they run there, watched by the engine.
const where = {
  calling: (pipeline: string) => `the calling thread has been blocked for \\d+ ms in pipeline '${pipeline}' at in\\.ndjson:3, in its filter\\(\\), map\\(\\), keyBy\\(\\) or eventTime\\(\\) `,
  pool: (pipeline: string) => `a call ran for more than maxCallMs \\(1500 ms\\) without progress in a source thread: pipeline '${pipeline}' at in\\.ndjson:3, in its filter\\(\\), map\\(\\), keyBy\\(\\) or eventTime\\(\\)`,
};

for (const [threads, on] of [['0', 'calling'], ['1', 'pool']] as const) {
  for (const pipeline of ['looping-map', 'looping-key']) {
    t.test(`keyflow run --source-threads ${threads}: a ${pipeline === 'looping-map' ? 'map()' : 'keyBy()'} that never returns ends the run after --max-call-ms, naming pipeline and line`, async (t) => {
      const dir = await tempDir(t);
      const input = join(dir, 'in.ndjson');
      const events = [{ k: 'a' }, { k: 'b' }, { k: 'c', loop: true }, { k: 'd' }];
      await writeFile(input, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
      const r = await keyflow(['run', MODULE, '--pipeline', pipeline, '--input', input, '--output', join(dir, 'out.ndjson'), '--workers', '1', '--max-call-ms', '1500',
        '--source-threads', threads], '', 60_000);
      t.notOk(r.timedOut, `the run ends on its own (stderr: ${r.stderr})`);
      // The watchdog interrupts the stuck thread and has it exit with code 1.
      t.equal(r.code, 1, `exit code 1 (signal ${r.signal}, stderr: ${r.stderr})`);
      const failures = lines(r.stderr).filter((l) => l.startsWith('keyflow: '));
      t.equal(failures.length, 1, `one failure line in: ${r.stderr}`);
      t.match(failures[0], new RegExp(`^keyflow: ${where[on](pipeline)}.*--max-call-ms`));
    });
  }
}

t.test('keyflow run --source-threads 0: the watchdog of the calling thread stays quiet through ordinary work and waits on the actors', async (t) => {
  const dir = await tempDir(t);
  const input = join(dir, 'in.ndjson');
  // 5,000 events of 1 KiB, each taking its actor about 0.4 ms: the calling thread spends most of the run
  // (longer than --max-call-ms in all) waiting for the actor to take each batch (ingest()'s backpressure).
  const pad = 'x'.repeat(1024);
  const n = 5000;
  await writeFile(input, Array.from({ length: n }, (_, i) => JSON.stringify({ k: `k${i % 50}`, pad, spinMs: 0.4 })).join('\n') + '\n');
  const output = join(dir, 'out.ndjson');
  const r = await keyflow(['run', MODULE, '--pipeline', 'slow', '--input', input, '--output', output, '--workers', '1', '--max-call-ms', '1500', '--source-threads', '0'], '', 120_000);
  t.notOk(r.timedOut, `the run ends on its own (stderr: ${r.stderr})`);
  t.equal(r.code, 0, `rc 0 (stderr: ${r.stderr})`);
  t.notMatch(r.stderr, /blocked/);
  t.equal(lines(await readFile(output, 'utf8')).length, n);
});
