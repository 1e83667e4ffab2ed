import t from 'tap';
import { fixture, runEngine, sorted } from './helpers/collect.js';

const ev = (k: string, time: number, c: string, extra: Record<string, unknown> = {}) => ({ k, t: time, c, ...extra });

t.test('process(): keyed value/list/map state, event-time timers, and rollback on throw', async (t) => {
  const events = [
    ev('a', 1, 'r'), // timer 11
    ev('a', 1, 'g'), // timer 11 again: one timer
    ev('a', 5, 'r'), // timer 15
    ev('a', 6, 'g', { boom: true }), // throws: its state writes, timer 16 and emit are undone
    ev('b', 7, 'r', { cancel: 17 }), // registers 17, then deletes it: b never fires
    ev('a', 20, 'r'), // timer 30
  ];
  const a = { n: 4, times: [1, 1, 5, 20], colours: { r: 3, g: 1 } };
  const expected = [
    { seen: 1, key: 'a', watermark: null }, // -Infinity in JSON
    { seen: 1, key: 'a', watermark: 0 },
    { seen: 5, key: 'a', watermark: 0 },
    { seen: 7, key: 'b', watermark: 5 },
    { seen: 20, key: 'a', watermark: 6 },
    { key: 'a', timer: 11, ...a },
    { key: 'a', timer: 15, ...a },
    { key: 'a', timer: 30, ...a },
  ];
  for (const workers of [1, 2]) {
    for (const batches of [[events], events.map((e) => [e])]) {
      const run = await runEngine({ module: fixture('process'), workers }, batches);
      t.same(sorted(run.results.counter), sorted(expected), `${workers} worker(s), ${batches.length} ingest call(s)`);
      t.equal(run.errors.length, 1);
      t.match(run.errors[0], { code: 'ERR_KEYFLOW_USER_FUNCTION', stage: 'process', pipeline: 'counter', key: 'a', position: 3, source: 'ingest', event: { t: 6, boom: true } });
      t.match(run.errors[0].message, /process\(\) of pipeline 'counter' at ingest event #3 \(key "a"\): Error: boom at 6/);
    }
  }
});
