import t, { type Test } from 'tap';
import { Readable } from 'node:stream';
import { BroadcastChannel } from 'node:worker_threads';
import { start } from '../lib/index.js';
import { fixture } from './helpers/collect.js';
import { until } from './helpers/wait.js';

// prestartSourceThreads: the source threads start with the actors (each imports the pipeline module as it
// starts), not on the first parallel read; without it an engine fed by ingest() alone never starts them.

const MODULE = fixture('thread-census');

/** The worker threads that have imported the fixture so far. */
function census(t: Test): Set<number> {
  const seen = new Set<number>();
  const channel = new BroadcastChannel('keyflow-thread-census');
  channel.onmessage = (m) => seen.add((m as { data: number }).data);
  t.teardown(() => channel.close());
  return seen;
}

t.test('with prestartSourceThreads, the source threads are up before anything is read', async (t) => {
  const seen = census(t);
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
  const seen = census(t);
  const engine = await start({ module: MODULE, workers: 1, sourceThreads: 2 });
  t.teardown(() => engine.stop());
  await engine.ingest([{ n: 1 }, { n: 2 }]);
  await engine.stop();
  await until('the actor', () => (seen.size >= 1 ? true : undefined), 10_000);
  // Give a source thread, had one started, the time to report itself.
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(seen.size, 1, 'only the actor imported the pipeline module');
});
