/**
 * What the router sends a join pipeline's actor (see Pipeline.intervalJoin and windowJoin): which input an
 * event came from, and the event. Each input's events are kept in state named after it.
 */
export type JoinInput = [side: typeof LEFT | typeof RIGHT, event: unknown];
export const LEFT = 0;
export const RIGHT = 1;
export const KEPT = ['left', 'right'] as const;
