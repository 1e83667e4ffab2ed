import t from 'tap';
import { fixture, runEngine } from './helpers/collect.js';

const good = (i: number) => ({ k: 'a', t: i, v: 1 });

t.test('event times outside a Date\'s range are bad times, not late events', async (t) => {
  const events = [good(1), { k: 'a', t: 1e20, v: 1 }, { k: 'a', t: -1e20, v: 1 }, { k: 'a', t: 8.64e15 + 1, v: 1 }, good(2)];
  const run = await runEngine({ module: fixture('bad-input'), workers: 1 }, [events]);
  t.same(run.errors.map((e) => [e.position, e.code]), [[1, 'ERR_KEYFLOW_BAD_TIME'], [2, 'ERR_KEYFLOW_BAD_TIME'], [3, 'ERR_KEYFLOW_BAD_TIME']]);
  t.match(run.errors[0].message, /eventTime\(\) returned 100000000000000000000: event time must be a number of milliseconds within ±8640000000000000/);
  t.same(run.results.guarded, [{ key: 'a', windowStart: 0, windowEnd: 100, n: 2, total: 2 }], 'the good events are counted');
  t.same(run.late, {}, 'nothing is late');
});

t.test('the largest time a Date can hold is accepted', async (t) => {
  const run = await runEngine({ module: fixture('bad-input'), workers: 1 }, [[{ k: 'a', t: -8.64e15, v: 1 }, { k: 'a', t: 8.64e15, v: 1 }]]);
  t.same(run.errors, []);
  t.equal(run.results.guarded.length, 2);
});

t.test('an event time far ahead of the wall clock is warned about once per pipeline, naming where', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => { if ((w as { code?: string }).code === 'KEYFLOW_FUTURE_EVENT_TIME') warnings.push(w); };
  process.on('warning', onWarning);
  t.teardown(() => { process.off('warning', onWarning); });
  const now = Date.now();
  const soon = { k: 'a', t: now + 3600_000, v: 1 };                // an hour ahead: ordinary clock skew
  const far = { k: 'a', t: now + 3 * 365 * 86_400_000, v: 1 };    // three years ahead
  const run = await runEngine({ module: fixture('bad-input'), workers: 2 }, [[good(1), soon], [far, { ...far, t: far.t + 1 }, good(3)]],
    { source: 'events.ndjson', lines: undefined });
  await new Promise((r) => setImmediate(r)); // process warnings are emitted on the next tick
  t.equal(warnings.length, 1, 'one warning for the pipeline');
  t.equal(warnings[0].name, 'KeyflowWarning');
  t.match(warnings[0].message, /^pipeline 'guarded': the event at events\.ndjson event #2 has event time \d{4}-\d\d-\d\dT[\d:.]+Z, 1,09\d days ahead of the wall clock/);
  t.same(run.late.guarded, [good(3)], 'the warning changes nothing: the event after it is late, as the watermark says');
});
