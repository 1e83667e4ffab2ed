import { configError } from '../../shared/errors.js';
import { stateKeyOf, type StateKey } from '../../shared/keygroups.js';
import { builtin } from './aggregate.js';

/** A value's tally: the value, how often it came, and the arrival (`seq`) of its first. */
type Tally = [value: unknown, count: number, first: number];

/**
 * The `n` most frequent `fn(event)` values of a window, most frequent first, as `{ value, count }` (BigQuery's
 * APPROX_TOP_COUNT, exact here); a tie goes to the value that came first, so the ranking is the same with any
 * worker count and after recovery. Values compare as keys do (objects by their JSON). On a global key
 * (`keyBy(() => 'all')`) it gives Nexmark q5's hot items: the most bid-on auctions of each window.
 */
export function topCount<E>(n: number, fn: (event: E) => unknown) {
  if (!(Number.isInteger(n) && n >= 1)) throw configError(`topCount() needs n, an integer >= 1, got ${String(n)}`);
  if (typeof fn !== 'function') throw configError('topCount() needs a function that gives the value to count');
  return builtin<unknown, Map<StateKey, Tally>, Array<{ value: unknown; count: number }>, E>({
    label: 'topCount',
    byArrival: true,
    extract: fn,
    check: (v) => (v === undefined ? 'topCount() needs a value, got undefined' : null),
    init: () => new Map(),
    add: (acc, v, seq) => {
      const key = stateKeyOf(v);
      const tally = acc.get(key);
      if (tally === undefined) acc.set(key, [v, 1, seq]);
      else tally[1]++;
      return acc;
    },
    merge: (a, b) => {
      const out = new Map<StateKey, Tally>();
      for (const [key, [value, count, first]] of a) out.set(key, [value, count, first]);
      for (const [key, [value, count, first]] of b) {
        const tally = out.get(key);
        if (tally === undefined) out.set(key, [value, count, first]);
        else out.set(key, first < tally[2] ? [value, tally[1] + count, first] : [tally[0], tally[1] + count, tally[2]]);
      }
      return out;
    },
    result: (acc) => [...acc.values()].sort((x, y) => y[1] - x[1] || x[2] - y[2]).slice(0, n).map(([value, count]) => ({ value, count })),
  });
}
