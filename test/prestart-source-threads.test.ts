import t, { type Test } from 'tap';
import { Readable } from 'node:stream';
import { BroadcastChannel } from 'node:worker_threads';
import { pipeline } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';
import { until, within } from './helpers/wait.js';
import { afterFailure } from '../lib/shared/ignore.js';
import { endIdleActors } from '../lib/calling-thread/idle-actors.js';

// prestartSourceThreads: the source threads start with the actors (each imports the pipeline module as it
// starts), not on the first parallel read; without it an engine fed by ingest() alone never starts them.

const MODULE = fixture('thread-census');

/**
 * The worker threads that import the fixture from now on. Idle actor threads an engine before let go have
 * imported it already (a thread imports a module once): they are ended first, so every thread counted is new.
 */
async function census(t: Test): Promise<Set<number>> {
  await endIdleActors();
  const seen = new Set<number>();
  const channel = new BroadcastChannel('keyflow-thread-census');
  channel.onmessage = (m) => seen.add((m as { data: number }).data);
  t.teardown(() => channel.close());
  return seen;
}

t.test('with prestartSourceThreads, the source threads are up before anything is read', async (t) => {
  const seen = await census(t);
  const engine = await start({ module: MODULE, workers: 1, sourceThreads: 2, prestartSourceThreads: true });
  t.teardown(() => engine.stop());
  await until('an actor and two source threads', () => (seen.size === 3 ? true : undefined), 10_000);
  t.equal(seen.size, 3, 'one actor and two source threads imported the pipeline module before any input');
  const results: Array<{ n: number }> = [];
  engine.results('census').on('data', (r: { n: number }) => results.push(r));
  const input = Array.from({ length: 500 }, (_, n) => JSON.stringify({ n })).join('\n') + '\n';
  await engine.ingestNdjson(Readable.from([input]));
  await engine.stop();
  t.equal(seen.size, 3, 'reading started no more threads');
  t.same(results.map((r) => r.n).sort((a, b) => a - b), Array.from({ length: 500 }, (_, n) => n), 'every line once');
});

t.test('without it, an engine fed by ingest() never starts them', async (t) => {
  const seen = await census(t);
  const engine = await start({ module: MODULE, workers: 1, sourceThreads: 2 });
  t.teardown(() => engine.stop());
  await engine.ingest([{ n: 1 }, { n: 2 }]);
  await engine.stop();
  await until('the actor', () => (seen.size >= 1 ? true : undefined), 10_000);
  // Give a source thread, had one started, the time to report itself.
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(seen.size, 1, 'only the actor imported the pipeline module');
});

t.test('a pipeline module the threads cannot import: start() rejects saying why, the process goes on', async (t) => {
  // Claimed to live in a module that does not export it: the actors and the source threads all fail to find it.
  const orphan = pipeline('orphan', { module: fixture('thread-census') });
  await t.rejects(start({ pipelines: [orphan], workers: 1, sourceThreads: 2, prestartSourceThreads: true }),
    { code: 'ERR_KEYFLOW_PIPELINE_MODULE', message: /pipeline 'orphan' is not exported by .*thread-census\.js/ });
});

t.test('a module that fails in the source threads alone fails start() or the first read, never hangs', async (t) => {
  process.env.FAULT = 'throw';
  t.teardown(() => delete process.env.FAULT);
  const input = () => Readable.from(['{"n":1}\n']);
  for (const prestartSourceThreads of [true, false]) {
    const failed = await within((async () => {
      try {
        const engine = await start({ module: fixture('source-thread-faults'), workers: 1, sourceThreads: 2, prestartSourceThreads });
        t.teardown(() => engine.stop().catch(afterFailure));
        await engine.ingestNdjson(input());
        return null;
      } catch (err) {
        return err as Error;
      }
    })(), `start() and a read with prestartSourceThreads ${prestartSourceThreads}`, 30_000);
    t.match(failed?.message, /this module cannot load in a source thread/, `prestartSourceThreads ${prestartSourceThreads}: the source threads' failure is reported`);
  }
});

t.test('start() called in an actor or a source thread refuses at once', async (t) => {
  process.env.FAULT = 'start';
  t.teardown(() => delete process.env.FAULT);
  // An idle actor thread has imported the module already, without the fault: the actor must be a new thread.
  await endIdleActors();
  const refused: string[] = [];
  const channel = new BroadcastChannel('keyflow-start-refused');
  channel.onmessage = (m) => refused.push((m as { data: string }).data);
  t.teardown(() => channel.close());
  const engine = await start({ module: fixture('source-thread-faults'), workers: 1, sourceThreads: 1, prestartSourceThreads: true });
  t.teardown(() => engine.stop());
  // Kinds, not counts: threads of an engine an earlier test ended may still be going away.
  const kinds = () => [...new Set(refused.map((m) => /inside a keyflow (actor|source) thread/.exec(m)?.[1] ?? m))].sort();
  await until('both refusals', () => (kinds().length >= 2 ? true : undefined), 10_000);
  t.same(kinds(), ['actor', 'source'], refused.join('\n'));
  const results: unknown[] = [];
  engine.results('passing').on('data', (r) => results.push(r));
  await engine.ingestNdjson(Readable.from(['{"n":1}\n{"n":2}\n']));
  await engine.stop();
  t.same(results, [{ n: 1 }, { n: 2 }], 'the engine runs on');
});
