/**
 * What the router sends a join pipeline's actor (see Pipeline.intervalJoin, windowJoin and join): which
 * input an event came from, and the event. Each input's events are kept in state named after it.
 */
export type JoinInput = [side: typeof LEFT | typeof RIGHT, event: unknown];
export const LEFT = 0;
export const RIGHT = 1;
export const KEPT = ['left', 'right'] as const;

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
