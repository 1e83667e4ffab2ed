import { STORED, type ListState, type MapState } from './process-function.js';

/**
 * What the router sends a join pipeline's actor (see Pipeline.intervalJoin, windowJoin and join): which
 * input an event came from, and the event. Each input's events are kept in state named after it.
 */
export type JoinInput = [side: typeof LEFT | typeof RIGHT, event: unknown];
export const LEFT = 0;
export const RIGHT = 1;
export const KEPT = ['left', 'right'] as const;

type Storing<T> = { [STORED]: () => T | undefined };
const NO_ENTRIES: ReadonlyMap<never, never> = new Map<never, never>();
const NO_ITEMS: readonly never[] = [];

/**
 * An input's kept events as stored, to read in place: entries(), keys() and get() copy them out into
 * arrays, a join's largest cost in garbage when it reads them for every event and timer. For state with no
 * TTL (a join's), whose stored entries are its live ones. Deleting through `kept` while iterating a map is
 * safe (a Map's iteration skips what is deleted); a list must be read before it is changed.
 */
export function stored<K, V>(kept: MapState<K, V>): ReadonlyMap<K, V>;
export function stored<T>(kept: ListState<T>): readonly T[];
export function stored(kept: MapState<unknown, unknown> | ListState<unknown>): ReadonlyMap<unknown, unknown> | readonly unknown[] {
  const own = (kept as unknown as Storing<ReadonlyMap<unknown, unknown> | readonly unknown[]>)[STORED]();
  return own ?? ('entries' in kept ? NO_ENTRIES : NO_ITEMS);
}

/**
 * Keep `event` among an input's events at time `t` (MapState: time → the events at that time, in arrival
 * order). A new array each time, never one changed in place: a failed call's undo log puts back the old.
 * The first event of a time, the common case, makes a one-item array, with no empty one spread into it.
 */
export function keep(kept: MapState<number, unknown[]>, t: number, event: unknown): void {
  const before = kept.get(t);
  kept.set(t, before === undefined ? [event] : [...before, event]);
}

/**
 * What a join's process function emits: a left and a right event that join, and for a window join their
 * window. JoinOperator makes it a result with the pipeline's select (Join.result), so that a select that
 * throws is a dead letter for that pair alone.
 */
export type JoinedPair = [left: unknown, right: unknown, windowStart?: number, windowEnd?: number];

/** What a join's process function emits for an event it cannot take any more: JoinOperator sends it to the late output. */
export class LateInput {
  constructor(readonly event: unknown) {}
}
