import { builtin, fromUser, isBuiltin, type Aggregate } from './aggregate.js';
import type { AggregateSpec } from './aggregate-set.js';

/**
 * Two-phase (local-global) aggregation, as Flink's: a key's events are aggregated per (key, bucket) first,
 * on whichever actors those own, and the partial accumulators of a window are then merged per key, so one
 * hot key's work spreads over the actors (see Pipeline.aggregate's `preAggregateBy`).
 */

const asAggregate = (a: AggregateSpec[string]): Aggregate => (isBuiltin(a) ? a : fromUser(a));

/** Why `spec` cannot be aggregated in two phases, per aggregate; empty if it can. */
export function twoPhaseProblems(spec: AggregateSpec): string[] {
  return Object.entries(spec).flatMap(([name, a]) => {
    const agg = asAggregate(a);
    if (agg.merge === null) return [`aggregate '${name}' needs a merge() function to be pre-aggregated`];
    if (agg.byArrival) return [`aggregate '${name}' (${agg.label}()) ranks by arrival, which two actors do not share: it cannot be pre-aggregated`];
    return [];
  });
}

/** The first phase: each aggregate as itself, except that its result is its accumulator. */
export function partialAggregates(spec: AggregateSpec): AggregateSpec {
  return Object.fromEntries(Object.entries(spec).map(([name, a]) => {
    const agg = asAggregate(a);
    const partial = builtin({
      label: agg.label,
      extract: agg.extract,
      init: () => agg.init(),
      add: (acc: unknown, value: unknown, seq: number) => agg.add(acc, value, seq),
      addRun: (acc: unknown, inputs: ArrayLike<unknown>, at: number, stride: number, count: number, seq: number) => agg.addRun(acc, inputs, at, stride, count, seq),
      merge: (x: unknown, y: unknown) => agg.merge!(x, y),
      result: (acc: unknown) => acc,
      check: (value: unknown) => agg.check(value),
      combinable: agg.combinable,
    });
    return [name, Object.assign(partial, { userCode: agg.userCode })];
  }));
}

/** The second phase: each aggregate takes the first phase's accumulators (field `name` of its results) and merges them. */
export function mergedAggregates(spec: AggregateSpec): AggregateSpec {
  return Object.fromEntries(Object.entries(spec).map(([name, a]) => {
    const agg = asAggregate(a);
    const merge = (x: unknown, y: unknown) => agg.merge!(x, y);
    const merged = builtin({
      label: agg.label,
      extract: (partial: Record<string, unknown>) => partial[name],
      init: () => agg.init(),
      add: merge,
      merge,
      result: (acc: unknown) => agg.result(acc),
      combinable: false,
    });
    return [name, Object.assign(merged, { userCode: agg.userCode })];
  }));
}
