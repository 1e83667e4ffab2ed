/**
 * Record kinds that travel in band, in order, inside frames.
 * Input rings (router → actor) carry EVENT, WATERMARK, SOURCE, BARRIER and END; output rings (actor →
 * main thread) carry RESULT, LATE, ERROR, BARRIER_ACK and END.
 */
export const EVENT = 1;
export const WATERMARK = 2;
export const END = 3;
export const RESULT = 4;
export const LATE = 5;
export const ERROR = 6;
/** Names a source id (value: SourceInfo) before any event uses it; logged, so replay knows it too. */
export const SOURCE = 7;
/** Checkpoint barrier (pos: checkpoint id): snapshot everything received before it. */
export const BARRIER = 8;
/**
 * The actor's processing-time clock (ts: ms since the epoch). An actor writes it into its own WAL
 * before the input it precedes, so a replay sees the same times; it never travels on a ring.
 */
export const PROCESSING_TIME = 10;
/** An actor finished its snapshot for a checkpoint (pos: checkpoint id, value: SnapshotAck). */
export const BARRIER_ACK = 9;

export interface SourceInfo {
  name: string;
  /** Exactly-once: positions are stable across restarts, so actors skip positions already applied. */
  tracked: boolean;
}

export interface SnapshotAck {
  bytes: number;
  /** Keys whose state it holds. */
  keys: number;
  /** How long the actor stopped processing to take it. */
  pauseMs: number;
}
