import t from 'tap';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

const EVENTS = 100_000;
const pending = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => false), new Promise((r) => setTimeout(() => r(true), ms))]);

t.test('a reader that stops reading holds ingest() back; nothing is buffered without bound or lost', async (t) => {
  // Small rings and frames, so a stalled reader fills everything quickly.
  const engine = await start({ module: fixture('passthrough'), workers: 2, ringBytes: 64 * 1024, frameRecords: 64 });
  const results = engine.results<{ id: number }>('echo');
  const events = Array.from({ length: EVENTS }, (_, id) => ({ id, pad: 'x'.repeat(40) }));
  const ingesting = engine.ingest(events);
  t.ok(await pending(ingesting, 1_000), 'ingest() is still waiting while nobody reads the results');
  const buffered = results.readableLength;
  t.ok(buffered < 20_000, `the results stream holds a bounded ${buffered} records, not all ${EVENTS}`);

  const seen = new Set<number>();
  const reading = (async () => {
    for await (const r of results) seen.add(r.id);
  })();
  await ingesting;
  const summary = await engine.stop();
  await reading;
  t.equal(seen.size, EVENTS, 'every event came out exactly once, through the async iterator');
  t.equal(summary.results, EVENTS);
});

t.test('outputs nobody subscribed to do not stall the engine', async (t) => {
  const engine = await start({ module: fixture('passthrough'), workers: 1, ringBytes: 64 * 1024, frameRecords: 64 });
  await engine.ingest(Array.from({ length: 50_000 }, (_, id) => ({ id, pad: '' })));
  const summary = await engine.stop();
  t.equal(summary.results, 50_000, 'results were produced and counted, and dropped since unread');
});
