import { configError } from '../../shared/errors.js';
import { builtin, numberProblem } from './aggregate.js';

export interface TopNOptions<E> {
  /** 'desc' (default): the largest `by(event)` ranks first; 'asc': the smallest. */
  order?: 'desc' | 'asc';
  /** What to keep of a ranked event (default: the event itself); keep less to keep state small. */
  value?: (event: E) => unknown;
}

/** An input: the event's rank value and what is kept of it. */
type Input = [by: number, value: unknown];
/** A ranked entry: rank value, arrival (the `seq` of add), what is kept. */
type Entry = [by: number, seq: number, value: unknown];

/**
 * The `n` events with the largest (or, with `order: 'asc'`, smallest) `by(event)` of a key's window,
 * best first: Flink SQL's window Top-N (ROW_NUMBER() OVER (PARTITION BY window, key ORDER BY by DESC),
 * rank ≤ n) as an aggregate. Ties rank by arrival, earlier first, so the ranking is the same with any
 * worker count and after recovery. State per window is at most `n` entries.
 */
export function topN<E>(n: number, by: (event: E) => number, options: TopNOptions<E> = {}) {
  if (!(Number.isInteger(n) && n >= 1)) throw configError(`topN() needs n, an integer >= 1, got ${String(n)}`);
  if (typeof by !== 'function') throw configError('topN() needs a function that gives the value to rank by');
  const { order = 'desc', value } = options;
  if (order !== 'desc' && order !== 'asc') throw configError(`topN() order must be 'desc' or 'asc', got ${String(order)}`);
  if (value !== undefined && typeof value !== 'function') throw configError('topN() value must be a function');
  const sign = order === 'desc' ? 1 : -1;
  /** Whether a ranks before b. */
  const before = (a: Entry, b: Entry) => (a[0] === b[0] ? a[1] < b[1] : sign * (a[0] - b[0]) > 0);
  return builtin<Input, Entry[], unknown[], E>({
    label: 'topN',
    extract: (event) => [by(event), value === undefined ? event : value(event)],
    check: (input) => numberProblem('topN', input[0]),
    // Its input is not a plain value: an event goes to its actor whole (see window-combiner.ts).
    combinable: false,
    init: () => [],
    add: (acc, [rank, kept], seq) => {
      const entry: Entry = [rank, seq, kept];
      if (acc.length === n) {
        if (!before(entry, acc[n - 1])) return acc;
        acc.pop();
      }
      let at = acc.length;
      while (at > 0 && before(entry, acc[at - 1])) at--;
      acc.splice(at, 0, entry);
      return acc;
    },
    merge: (a, b) => {
      const out: Entry[] = [];
      for (let i = 0, j = 0; out.length < n && (i < a.length || j < b.length);) {
        out.push(j >= b.length || (i < a.length && before(a[i], b[j])) ? a[i++] : b[j++]);
      }
      return out;
    },
    result: (acc) => acc.map((entry) => entry[2]),
  });
}
