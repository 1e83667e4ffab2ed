/**
 * Record kinds that travel in band, in order, inside frames (the numbers are on disk, in WAL segments).
 * Input rings (router → actor) carry EVENT, PARTIAL, WATERMARK, SOURCE, BARRIER and END; output rings (actor →
 * main thread) carry RESULT, LATE, RESULT_LINES, LATE_LINES, UNWRITABLE, ERROR, BARRIER_ACK and END.
 * FrameBuilder has one builder per kind.
 */
export const Kind = {
  /** A routed event (pipe, src, kg, ts: event time, wm: its pipeline's watermark before it, pos, key, value). */
  EVENT: 1,
  /** A pipeline's watermark moved (pipe, wm). */
  WATERMARK: 2,
  /** The end of input (wm: +∞); on an output ring, the actor has emitted everything. */
  END: 3,
  /** A result (pipe, kg, pos: its number in the key-group, value). */
  RESULT: 4,
  /** A late event (pipe, kg, pos: its number in the key-group, value: the event). */
  LATE: 5,
  /** A problem (pipe, src, kg, pos: the event's position, key, value: Problem). */
  ERROR: 6,
  /** Names a source id (value: SourceInfo) before any event uses it; logged, so replay knows it too. */
  SOURCE: 7,
  /** Checkpoint barrier (pos: checkpoint id): snapshot everything received before it. */
  BARRIER: 8,
  /** An actor finished its snapshot for a checkpoint (pos: checkpoint id, value: SnapshotAck). */
  BARRIER_ACK: 9,
  /**
   * The actor's processing-time clock (ts: ms since the epoch). An actor writes it into its own WAL
   * before the input it precedes, so a replay sees the same times; it never travels on a ring.
   */
  PROCESSING_TIME: 10,
  /**
   * Consecutive results of one pipeline that go to a file or stdout, already NDJSON (pipe, kg: the first
   * one's key-group, pos: how many, value: a LineBatch, see line-batch.ts; null when nobody takes them:
   * they are only counted). Output rings only.
   */
  RESULT_LINES: 11,
  /** Late events that go to a file or stdout, as RESULT_LINES. */
  LATE_LINES: 12,
  /** A result or late event that JSON cannot write (pipe, kg, pos: its number, value: Unwritable). Output rings only. */
  UNWRITABLE: 13,
  /**
   * Several events of one key and window pane, as their aggregates' inputs (see window-combiner.ts): as
   * EVENT for its first event (pipe, src, kg, ts, wm, pos, key), value: PaneInputs.
   */
  PARTIAL: 14,
} as const;

export type Kind = (typeof Kind)[keyof typeof Kind];

/** The source id of problems raised while firing timers (there is no event then); event sources stay below it. */
export const TIMER_SOURCE = 0xffff;
/** The source id of a later stage's input (an earlier stage's results, see shuffle.ts); its position is the time. */
export const STAGE_SOURCE = 0xfffe;

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

/**
 * How an actor sends a pipeline's results (or late events) to the calling thread: as values (for a
 * results() stream), as NDJSON lines (for a file or stdout; WRAPPED_LINES as `{ pipeline, result }` or
 * `{ pipeline, event }`, for several pipelines in one file), or only counted (nobody takes them).
 */
export const OutputForm = { VALUES: 0, LINES: 1, WRAPPED_LINES: 2, COUNTED: 3 } as const;

export type OutputForm = (typeof OutputForm)[keyof typeof OutputForm];

/** Per pipeline, in pipeline order: the form of its results and of its late events. */
export type OutputPlan = Array<{ results: OutputForm; late: OutputForm }>;

/** What an UNWRITABLE record carries. */
export interface Unwritable {
  late: boolean;
  /** Why JSON cannot write it (the thrown error, described). */
  error: string;
}
