import t from 'tap';
import { AggregateSet } from '../lib/pipeline/aggregates/aggregate-set.js';
import { avg, max, min, sum } from '../lib/index.js';

// A value a numeric aggregate cannot take is rejected with a message naming the aggregate and the value.

t.test('a bad input names the aggregate, its function and what it got', async (t) => {
  const set = new AggregateSet({ s: sum((e: { v: unknown }) => e.v as number), a: avg((e: { w: unknown }) => e.w as number), lo: min((e: { x: unknown }) => e.x as number), hi: max((e: { y: unknown }) => e.y as number) });
  const ok = { v: 1, w: 1, x: 1, y: 1 };
  const problem = (patch: Record<string, unknown>) => set.extract({ ...ok, ...patch });
  t.equal(problem({}), null);
  t.same(problem({ v: 'x'.repeat(40) }), { kind: 'value', message: `s: sum() needs a number, got string "${'x'.repeat(40)}"` }, '40 characters are shown whole');
  t.same(problem({ v: 'y'.repeat(41) }), { kind: 'value', message: `s: sum() needs a number, got string "${'y'.repeat(40)}…"` }, 'longer strings are cut to 40');
  t.same(problem({ w: NaN }), { kind: 'value', message: 'a: avg() needs a number, got NaN' });
  t.same(problem({ x: null }), { kind: 'value', message: 'lo: min() needs a number, got null' });
  t.same(problem({ y: undefined }), { kind: 'value', message: 'hi: max() needs a number, got undefined' });
  t.same(problem({ v: { n: 1 } }), { kind: 'value', message: 's: sum() needs a number, got object' });
  t.same(problem({ v: 7n }), { kind: 'value', message: 's: sum() needs a number, got bigint' });
});
