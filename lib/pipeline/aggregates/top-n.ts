import { configError } from '../../shared/errors.js';
import { builtin, numberProblem } from './aggregate.js';

export interface TopNOptions<E> {
  /** 'desc' (default): the largest `by(event)` ranks first; 'asc': the smallest. */
  order?: 'desc' | 'asc';
  /** What to keep of a ranked event (default: the event itself); keep less to keep state small. */
  value?: (event: E) => unknown;
}

/** What an event ranks by: a number, or numbers compared in turn (a tie on the first goes to the second, …). */
export type Rank = number | readonly number[];
/** An input: the event's rank and what is kept of it. */
type Input = [by: Rank, value: unknown];
/** A ranked entry: rank, arrival (the `seq` of add), what is kept. */
type Entry = [by: Rank, seq: number, value: unknown];

/** a's rank against b's: < 0, 0 or > 0; lists compare element by element, a number as a list of one. */
function compareRanks(a: Rank, b: Rank): number {
  // Equal first: Infinity - Infinity is NaN, and a tie must go to the earlier arrival.
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a - b;
  const as = typeof a === 'number' ? [a] : a;
  const bs = typeof b === 'number' ? [b] : b;
  for (let i = 0; i < as.length && i < bs.length; i++) if (as[i] !== bs[i]) return as[i] - bs[i];
  return as.length - bs.length;
}

/** Why a rank cannot be ranked, or null. */
function rankProblem(rank: unknown): string | null {
  if (!Array.isArray(rank)) return numberProblem('topN', rank);
  if (rank.length === 0) return 'topN() by() gave an empty array: give numbers to rank by';
  for (const r of rank) {
    const problem = numberProblem('topN', r);
    if (problem !== null) return problem;
  }
  return null;
}

/**
 * The `n` events with the largest (or, with `order: 'asc'`, smallest) `by(event)` of a key's window,
 * best first: Flink SQL's window Top-N (ROW_NUMBER() OVER (PARTITION BY window, key ORDER BY by DESC),
 * rank ≤ n) as an aggregate. `by` may give several numbers, compared in turn, as ORDER BY a, b (negate one
 * to rank it the other way: `[price, -time]` is price DESC, time ASC). Ties
 * rank by arrival, earlier first, so the ranking is the same with any worker count and after recovery.
 * State per window is at most `n` entries.
 */
export function topN<E>(n: number, by: (event: E) => Rank, options: TopNOptions<E> = {}) {
  if (!(Number.isInteger(n) && n >= 1)) throw configError(`topN() needs n, an integer >= 1, got ${String(n)}`);
  if (typeof by !== 'function') throw configError('topN() needs a function that gives the value to rank by');
  const { order = 'desc', value } = options;
  if (order !== 'desc' && order !== 'asc') throw configError(`topN() order must be 'desc' or 'asc', got ${String(order)}`);
  if (value !== undefined && typeof value !== 'function') throw configError('topN() value must be a function');
  const sign = order === 'desc' ? 1 : -1;
  /** Whether a ranks before b. */
  const before = (a: Entry, b: Entry) => {
    const c = compareRanks(a[0], b[0]);
    return c === 0 ? a[1] < b[1] : sign * c > 0;
  };
  return builtin<Input, Entry[], unknown[], E>({
    label: 'topN',
    byArrival: true,
    extract: (event) => [by(event), value === undefined ? event : value(event)],
    check: (input) => rankProblem(input[0]),
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
