import t from 'tap';
import { KeyflowError } from '../lib/index.js';
import { start } from './helpers/start.js';
import { reportedElsewhere } from '../lib/shared/ignore.js';
import { fixture, runEngine } from './helpers/collect.js';

const good = (i: number) => ({ k: `k${i % 3}`, t: i, v: 1 });

t.test('each kind of bad event is reported with what and where, and nothing else is lost', async (t) => {
  const events: unknown[] = Array.from({ length: 100 }, (_, i) => good(i));
  // Positions 10..16 hold bad events; every other event must still be counted.
  events[10] = { k: 'k1', t: 10, v: 1, explode: 'filter' };
  events[11] = { k: 'k1', t: 11, v: 1, explode: 'map' };
  events[12] = { k: 'k1', t: 12, v: 1, explode: 'keyBy' };
  events[13] = { t: 13, v: 1 }; // no key
  events[14] = { k: 'k1', t: 'yesterday', v: 1 }; // non-numeric time
  events[15] = { k: 'k2', t: 15, v: 'lots' }; // sum() of a string, caught in the actor
  events[16] = { k: 'k1', t: 16, v: 1, explode: 'eventTime' };
  for (const workers of [1, 3]) {
    const run = await runEngine({ module: fixture('bad-input'), workers }, [events.slice(0, 50), events.slice(50)]);
    const byPosition = [...run.errors].sort((a, b) => a.position - b.position);
    t.same(byPosition.map((e) => [e.position, e.stage, e.code]), [
      [10, 'filter', 'ERR_KEYFLOW_USER_FUNCTION'],
      [11, 'map', 'ERR_KEYFLOW_USER_FUNCTION'],
      [12, 'keyBy', 'ERR_KEYFLOW_USER_FUNCTION'],
      [13, 'keyBy', 'ERR_KEYFLOW_MISSING_KEY'],
      [14, 'eventTime', 'ERR_KEYFLOW_BAD_TIME'],
      [15, 'aggregate', 'ERR_KEYFLOW_BAD_VALUE'],
      [16, 'eventTime', 'ERR_KEYFLOW_USER_FUNCTION'],
    ], `${workers} worker(s): one dead letter per bad event`);
    for (const e of run.errors) {
      t.equal(e.pipeline, 'guarded');
      t.equal(e.source, 'ingest');
      t.same(e.event, events[e.position], 'the dead letter holds the offending event');
    }
    t.match(byPosition[0].message, /^filter\(\) of pipeline 'guarded' at ingest event #10: Error: filter exploded$/);
    t.match(byPosition[3].message, /keyBy\(\) returned undefined: every event needs a key/);
    t.match(byPosition[4].message, /at ingest event #14 \(key "k1"\): eventTime\(\) returned the string "yesterday"/);
    t.match(byPosition[5].message, /aggregate\(\) of pipeline 'guarded' at ingest event #15 \(key "k2"\): total: sum\(\) needs a number, got string "lots"/);
    t.equal(byPosition[5].key, 'k2');
    const total = (run.results.guarded ?? []).reduce((n: number, r: { n: number }) => n + r.n, 0);
    t.equal(total, 93, 'the 93 good events are all counted');
    t.equal(run.summary.errors, 7);
    t.equal(run.summary.events, 100);
  }
});

t.test("onError: 'fail' stops at the first bad event with a clear error", async (t) => {
  // Caught on the main thread (a missing key): ingest() rejects.
  const engine = await start({ module: fixture('bad-input'), workers: 1, onError: 'fail' });
  const errors: unknown[] = [];
  engine.errors().on('data', (e) => errors.push(e));
  await engine.ingest([good(0), good(1)]);
  await t.rejects(engine.ingest([good(2), { t: 3, v: 1 }, good(4)]), { code: 'ERR_KEYFLOW_FAILED', message: /stopped at the first error \(onError: 'fail'\): keyBy\(\) of pipeline 'guarded' at ingest event #3: keyBy\(\) returned undefined/ });
  await t.rejects(engine.ingest([good(5)]), { code: 'ERR_KEYFLOW_FAILED' }, 'later ingests are refused');
  await t.rejects(engine.stop(), { code: 'ERR_KEYFLOW_FAILED' }, 'stop() reports why the engine stopped');
  t.equal(errors.length, 1, 'the error is on the errors output too');

  // Caught inside an actor (a bad value for sum()): the engine stops and stop() says why.
  const engine2 = await start({ module: fixture('bad-input'), workers: 2, onError: 'fail' });
  await engine2.ingest([good(0), { k: 'k0', t: 1, v: 'x' }, good(2)]).catch(reportedElsewhere);
  const err = await engine2.stop().then(() => null, (e: unknown) => e);
  t.type(err, KeyflowError);
  t.match(err, { code: 'ERR_KEYFLOW_FAILED', message: /aggregate\(\) of pipeline 'guarded' at ingest event #1 \(key "k0"\): total: sum\(\) needs a number/ });
});

t.test('a named source with line numbers is reported as file:line', async (t) => {
  const run = await runEngine({ module: fixture('bad-input'), workers: 1 }, [[good(0), { t: 1, v: 1 }]], { source: 'events.ndjson', lines: [7, 9] });
  t.equal(run.errors.length, 1);
  t.match(run.errors[0], { source: 'events.ndjson', position: 9, message: /at events\.ndjson:9:/ });
});

t.test('ingest() after stop() is refused', async (t) => {
  const engine = await start({ module: fixture('bad-input'), workers: 1 });
  await engine.stop();
  await t.rejects(engine.ingest(good(1)), { code: 'ERR_KEYFLOW_STOPPED' });
});

t.test('an event too large for the ring becomes a dead letter; its neighbours are unharmed', async (t) => {
  const huge = { k: 'k1', t: 5, v: 1, blob: 'x'.repeat(100_000) };
  const events = [good(0), good(1), huge, good(3), good(4)];
  // An exactly-once source: its events cross to their actors as themselves (they are never combined).
  const run = await runEngine({ module: fixture('bad-input'), workers: 1, ringBytes: 64 * 1024 }, [events], { sourceId: 'events', seq: 0 });
  t.equal(run.errors.length, 1);
  t.match(run.errors[0], { code: 'ERR_KEYFLOW_EVENT_TOO_LARGE', stage: 'route', position: 2, key: 'k1', message: /at events batch #0 event #2 \(key "k1"\): the event takes \d+ bytes, more than a ring frame can hold/ });
  t.equal(run.results.guarded.reduce((n: number, r: { n: number }) => n + r.n, 0), 4, 'the other four events are counted');
  // Any other source: the window pane is combined (window-combiner.ts), and only the event's inputs cross.
  const combined = await runEngine({ module: fixture('bad-input'), workers: 1, ringBytes: 64 * 1024 }, [events]);
  t.equal(combined.errors.length, 0, 'combined: no dead letter');
  t.equal(combined.results.guarded.reduce((n: number, r: { n: number }) => n + r.n, 0), 5, 'combined: all five events are counted');
});
