import t from 'tap';
import { AggregateSet } from '../lib/pipeline/aggregates/aggregate-set.js';
import { avg, count, distinctCount, first, last, max, min, sum } from '../lib/index.js';

// Merging accumulators (session windows): either order gives the same result, and each merge is a new
// accumulator of its own.

const spec = () => ({
  n: count(), total: sum((v: number) => v), lo: min((v: number) => v), hi: max((v: number) => v), mean: avg((v: number) => v),
  first: first((v: number) => v), last: last((v: number) => v), distinct: distinctCount((v: number) => v),
});

function accumulate(set: AggregateSet, values: Array<[value: number, seq: number]>): unknown[] {
  const acc = set.create();
  for (const [v, seq] of values) {
    t.equal(set.extract(v), null);
    set.addAll([acc], seq);
  }
  return acc;
}

const results = (set: AggregateSet, acc: unknown[]) => {
  const into: Record<string, unknown> = {};
  set.writeResults(acc, into);
  return into;
};

t.test('a merge gives the same result whichever accumulator comes first', async (t) => {
  const set = new AggregateSet(spec());
  const early = accumulate(set, [[4, 0], [8, 1]]);
  const late = accumulate(set, [[1, 2], [6, 3]]);
  const want = { n: 4, total: 19, lo: 1, hi: 8, mean: 19 / 4, first: 4, last: 6, distinct: 4 };
  t.same(results(set, set.merge(early, late)), want, 'earlier first');
  t.same(results(set, set.merge(late, early)), want, 'later first');
  const empty = set.create();
  t.same(results(set, set.merge(empty, early)), results(set, early), 'an empty accumulator adds nothing (left)');
  t.same(results(set, set.merge(early, empty)), results(set, early), 'an empty accumulator adds nothing (right)');
});

t.test('each merge is a new accumulator, untouched by later merges', async (t) => {
  const set = new AggregateSet(spec());
  const a = accumulate(set, [[1, 0]]);
  const b = accumulate(set, [[2, 1]]);
  const c = accumulate(set, [[30, 2]]);
  const ab = set.merge(a, b);
  const before = results(set, ab);
  const bc = set.merge(b, c);
  t.not(ab, bc);
  t.same(results(set, ab), before, 'the first merge still holds a and b');
  t.same(results(set, bc), { n: 2, total: 32, lo: 2, hi: 30, mean: 16, first: 2, last: 30, distinct: 2 });
  t.same(results(set, a), { n: 1, total: 1, lo: 1, hi: 1, mean: 1, first: 1, last: 1, distinct: 1 }, 'merged accumulators are unchanged');
});
