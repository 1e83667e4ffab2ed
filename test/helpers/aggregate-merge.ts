import type { Test } from 'tap';
import type { AggregateSet } from '../../lib/pipeline/aggregates/aggregate-set.js';

/**
 * The results of adding `values` (in arrival order) to one accumulator, and of adding each to one of two
 * (`half(seq)`) and merging those as a session window does (the second into the first's place).
 */
export function addedAndMerged(t: Test, set: AggregateSet, values: unknown[], half: (seq: number) => 0 | 1): { one: Record<string, unknown>; merged: Record<string, unknown> } {
  const one = set.create();
  const halves = [set.create(), set.create()];
  values.forEach((v, seq) => {
    t.equal(set.extract(v), null);
    set.addAll([one], seq);
    set.addAll([halves[half(seq)]], seq);
  });
  const results = { one: {}, merged: {} };
  set.writeResults(one, results.one);
  set.writeResults(set.merge(halves[1], halves[0]), results.merged);
  return results;
}
