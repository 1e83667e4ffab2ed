import { builtin } from './aggregate.js';

type Seen = { value: unknown; seq: number } | null;

/**
 * first() and last(): the value of the earliest or latest event by arrival order (as Flink SQL's
 * FIRST_VALUE/LAST_VALUE), so merging session windows keeps the right one.
 */
export function byArrival<E>(label: 'first' | 'last', fn: (event: E) => unknown) {
  const keepOld = label === 'first';
  const earlier = (a: Seen, b: Seen) => (a === null ? b : b === null ? a : a.seq <= b.seq ? a : b);
  const later = (a: Seen, b: Seen) => (a === null ? b : b === null ? a : a.seq >= b.seq ? a : b);
  return builtin<unknown, Seen, unknown, E>({
    label,
    byArrival: true,
    extract: fn,
    init: () => null,
    add: (acc, value, seq) => (keepOld && acc !== null ? acc : { value, seq }),
    merge: keepOld ? earlier : later,
    result: (acc) => (acc === null ? null : acc.value),
  });
}
