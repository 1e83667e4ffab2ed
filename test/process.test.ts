import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

t.test('a key sees only the kinds of state it wrote itself, whatever other keys wrote, across a failed first write and a restore', async (t) => {
  const events = [
    { k: 'v', t: 1, write: 'value' },
    { k: 'm', t: 2, write: 'map' },
    { k: 'l', t: 3, write: 'list' },
    { k: 'x', t: 4, write: 'map', boom: true }, // its first write, undone
    ...['v', 'm', 'l', 'x', 'fresh'].map((k, i) => ({ k, t: 10 + i })),
  ];
  const later = [
    { k: 'v', t: 20, write: 'list' },
    { k: 'm', t: 21, write: 'value' },
    ...['v', 'm', 'l', 'x', 'fresh'].map((k, i) => ({ k, t: 30 + i })),
  ];
  const seen = (k: string, t: number, v: number | null, m: Array<[string, number]>, l: number[]) => ({ key: k, t, v, m, l });
  const first = [
    seen('v', 10, 1, [], []), seen('m', 11, null, [['at2', 2]], []), seen('l', 12, null, [], [3]), seen('x', 13, null, [], []), seen('fresh', 14, null, [], []),
  ];
  const second = [
    seen('v', 30, 1, [], [20]), seen('m', 31, 21, [['at2', 2]], []), seen('l', 32, null, [], [3]), seen('x', 33, null, [], []), seen('fresh', 34, null, [], []),
  ];
  for (const workers of [1, 2]) {
    const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-kinds-'));
    try {
      const before = await runEngine({ module: fixture('state-kinds'), workers, stateDir }, [events]);
      t.same(sorted(before.results.kinds), sorted(first), `${workers} worker(s): before the restart`);
      t.equal(before.errors.length, 1, 'the failed write is reported');
      // The restart restores each key from the final checkpoint, then writes other kinds.
      const after = await runEngine({ module: fixture('state-kinds'), workers, stateDir }, [later]);
      t.same(sorted(after.results.kinds), sorted(second), `${workers} worker(s): after it`);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  }
});
