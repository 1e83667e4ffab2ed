import type { MapState } from './process-function.js';

/**
 * What the router sends a join pipeline's actor (see Pipeline.intervalJoin, windowJoin and join): which
 * input an event came from, and the event. Each input's events are kept in state named after it.
 */
export type JoinInput = [side: typeof LEFT | typeof RIGHT, event: unknown];
export const LEFT = 0;
export const RIGHT = 1;
export const KEPT = ['left', 'right'] as const;

/** A MapState's own entries as stored (see stored()); only the process context's maps have it. */
export const STORED = Symbol('keyflow.stored');
type Storing = { [STORED]?: () => ReadonlyMap<unknown, unknown> | undefined | null };
const NOTHING: ReadonlyMap<number, unknown[]> = new Map();

/**
 * An input's kept events as stored, to read in place: entries() and keys() copy them out into arrays, a
 * join's largest cost in garbage when it reads them for every event and timer. A join's maps have no TTL,
 * so what is stored is what is live. Deleting through `kept` while iterating it is safe (a Map's iteration
 * skips what is deleted). A map that cannot give its entries so (one with a TTL) gives a copy.
 */
export function stored(kept: MapState<number, unknown[]>): ReadonlyMap<number, unknown[]> {
  const own = (kept as Storing)[STORED]?.();
  if (own === undefined) return NOTHING;
  return own === null ? new Map(kept.entries()) : own as ReadonlyMap<number, unknown[]>;
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
