import type { Unsendable } from './codec/frame-sender.js';
import { codes, type ErrorCode } from './errors.js';

/** Positions of exactly-once batches: seq * BATCH_SPAN + index in the batch. */
export const BATCH_SPAN = 2 ** 21;

/**
 * Where in a pipeline a bad event was caught. 'resultFilter' and 'resultMap': a filter() or map() after the
 * pipeline's aggregate(), process() or join, on one of its results (the dead letter's event).
 */
export type Stage = 'parse' | 'filter' | 'map' | 'keyBy' | 'eventTime' | 'route' | 'window' | 'aggregate' | 'process' | 'onTimer' | 'select'
  | 'resultFilter' | 'resultMap' | 'output';

/** What went wrong with one event, before it is placed (see `deadLetter`). */
export interface Problem {
  code: ErrorCode;
  stage: Stage;
  /** The cause: the thrown error's name and message, or what is wrong with the value. */
  detail: string;
  key?: unknown;
  event?: unknown;
  raw?: string;
}

/** Where an event came from. */
export interface Location {
  /** 'ingest' for engine.ingest(), the name given to ingest() (a file name), or 'timer'. */
  source: string;
  /** Line number (1-based) for line sources; the event's ordinal in its source; a timer's time. */
  position: number;
  kind: 'line' | 'ordinal' | 'batch' | 'timer' | 'stage';
}

/**
 * One record on the errors (dead-letter) output: what went wrong and where, with the offending event
 * so it can be inspected or replayed. Nothing else is lost when one of these is produced.
 */
export interface DeadLetter extends Problem {
  message: string;
  source: string;
  position: number;
  pipeline?: string;
}

/** A stage as the step the user wrote: `map()`, or `map() on the results` for a step after the stateful part. */
function stepName(stage: Stage): string {
  if (stage === 'resultFilter') return 'filter() on the results';
  if (stage === 'resultMap') return 'map() on the results';
  return `${stage}()`;
}

export function where(loc: Location): string {
  switch (loc.kind) {
    case 'line': return `${loc.source}:${loc.position}`;
    case 'ordinal': return `${loc.source} event #${loc.position}`;
    case 'batch': return `${loc.source} batch #${Math.floor(loc.position / BATCH_SPAN)} event #${loc.position % BATCH_SPAN}`;
    case 'timer': return `timer at ${loc.position}`;
    case 'stage': return Number.isNaN(loc.position) ? loc.source : `${loc.source} at time ${loc.position}`;
  }
}

export function deadLetter(problem: Problem, pipeline: string | undefined, loc: Location): DeadLetter {
  const what = pipeline === undefined ? problem.stage : `${stepName(problem.stage)} of pipeline '${pipeline}'`;
  const key = problem.key === undefined ? '' : ` (key ${safeJson(problem.key)})`;
  return {
    ...problem,
    message: `${what} at ${where(loc)}${key}: ${problem.detail}`,
    source: loc.source,
    position: loc.position,
    ...(pipeline === undefined ? {} : { pipeline }),
  };
}

/**
 * A record no ring frame can carry — too large, or not encodable (cyclic, nested too deeply, a function
 * inside) — as the problem of a dead letter. `what` names it: the event, or an actor's output record.
 */
export function unsendableProblem(u: Unsendable, what: string, stage: Stage): Problem {
  return u.error === undefined
    ? { code: codes.TOO_LARGE, stage, detail: `${what} takes ${u.bytes} bytes, more than a ring frame can hold` }
    : { code: codes.BAD_VALUE, stage, detail: `${what} cannot be encoded (${u.error}): it must be data (no functions or symbols), neither cyclic nor nested too deeply` };
}

/**
 * A dead letter that no frame can carry because of its event (a result too large, or not encodable, for the
 * next stage's ring is reported with itself as the event): it goes on without the event, its own detail kept,
 * saying why the event was left out.
 */
export function withoutEvent(problem: Problem, u: Unsendable): Problem {
  const rest: Problem = { ...problem };
  delete rest.event;
  delete rest.raw;
  const why = u.error === undefined ? `${u.bytes} bytes, more than a ring frame can hold` : 'it cannot be encoded';
  return { ...rest, detail: `${rest.detail} (the event is left out of this report: ${why})` };
}

/** A problem report with no key or event, and a detail of at most about a kilobyte: what any frame carries. */
export function bareProblem(problem: Problem): Problem {
  const detail = problem.detail.length > 1_000 ? `${problem.detail.slice(0, 1_000)}…` : problem.detail;
  return { code: problem.code, stage: problem.stage, detail: `${detail} (its key and event are left out of this report: no frame can carry them)` };
}

/** A result of a processing-time timer (no event time), which a next stage cannot take, as the problem of a dead letter of that stage. */
export function untimedResultProblem(result: unknown): Problem {
  return {
    code: codes.BAD_TIME,
    stage: 'eventTime',
    detail: 'a result without an event time (emitted by a processing-time timer) cannot go on to the next stage, which takes its input in event time',
    event: result,
  };
}

/**
 * A result or late event that cannot be written as JSON (it holds a BigInt, say): skipped by the NDJSON
 * outputs and reported instead. `position` is its number (per key-group for exactly-once outputs, else
 * its ordinal among the output's records); `error` says why (the error JSON.stringify threw, described).
 */
export function unwritable(pipeline: string, target: string, position: number, error: string): DeadLetter {
  const detail = `cannot be written as JSON: ${error}`;
  return {
    code: codes.BAD_VALUE,
    stage: 'output',
    detail,
    message: `output of pipeline '${pipeline}' to ${target}: record #${position} ${detail}`,
    source: target,
    position,
    pipeline,
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
