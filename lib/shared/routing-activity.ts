/**
 * What the calling thread is routing, in a small SharedArrayBuffer that another thread can read while
 * this one is stuck. The stateless part of every pipeline (filter, map, keyBy, eventTime) runs on the
 * thread that calls ingest() (see router.ts), so a user function there that never returns blocks that
 * thread's event loop: none of its timers fire, and only another thread can notice and say where.
 * `keyflow run` does that (cli/stall-watchdog.ts); the engine only keeps the slots up to date.
 *
 * Cheap by design, as routing is the engine's hottest loop: the router stores the position of each event
 * (one store), the pipeline only when there are several, the source once per ingest() call (its name only
 * when it changes). No atomics on the writing side: a reader that sees a slightly stale value only words
 * its message a little less exactly. Both sides import this module, so the meaning of every slot lives
 * here, as shared/activity.ts does for the actors.
 */
import type { Location } from './dead-letter.js';

// Int32 slots.
/** Bumped on a timer of the calling thread by whoever watches it: it stops moving when the thread is stuck. */
const HEARTBEAT = 0;
/** 1 while ingest() runs the pipelines' functions over its events, 0 otherwise (waiting, or not ingesting). */
const BUSY = 1;
/** The pipeline being routed (index in the engine's pipelines). */
const PIPE = 2;
/** The source id of the events being routed; -1 before the first. */
const SRC = 3;
/** That source's kind of position: an index into KINDS. */
const KIND = 4;
/** How many bytes of NAME hold that source's name (UTF-8, cut at NAME_BYTES). */
const NAME_LENGTH = 5;
const INTS = 6;
// Float64 slots, after the ints.
/** The position in its source of the event being routed (a line, an ordinal). */
const POS = 0;
const FLOATS = 1;
// Then the source's name.
const FLOATS_AT = INTS * 4;
const NAME_AT = FLOATS_AT + FLOATS * 8;
const NAME_BYTES = 256;

export const ROUTING_ACTIVITY_BYTES = NAME_AT + NAME_BYTES;

/** The kinds of position an ingest() source has (see dead-letter.ts where()). */
const KINDS: ReadonlyArray<Location['kind']> = ['line', 'ordinal', 'batch'];

const encoder = new TextEncoder();

/** A snapshot of the slots, read by the watching thread. */
export interface RoutingReport {
  /** Whether the pipelines' functions were running (else the thread is stuck elsewhere). */
  busy: boolean;
  pipe: number;
  /** The event being routed, or the last one routed when not busy (null: none yet). */
  location: Location | null;
}

export class RoutingActivity {
  readonly buffer: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;
  private readonly name: Uint8Array;

  /** New slots, for an engine: nothing routed yet. */
  static create(): RoutingActivity {
    const activity = new RoutingActivity(new SharedArrayBuffer(ROUTING_ACTIVITY_BYTES));
    activity.ints[SRC] = -1;
    return activity;
  }

  /** The slots in `buffer` (from create(), passed to another thread). */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.ints = new Int32Array(buffer, 0, INTS);
    this.floats = new Float64Array(buffer, FLOATS_AT, FLOATS);
    this.name = new Uint8Array(buffer, NAME_AT, NAME_BYTES);
  }

  // The calling thread's side.

  /** The watcher's timer: the calling thread is alive. */
  beat(): void {
    Atomics.add(this.ints, HEARTBEAT, 1);
  }

  /** ingest() starts (or resumes) running the pipelines' functions over events of source `src`. */
  busy(src: number, name: string, kind: Location['kind']): void {
    if (this.ints[SRC] !== src) {
      this.ints[NAME_LENGTH] = encoder.encodeInto(name, this.name).written;
      this.ints[KIND] = Math.max(0, KINDS.indexOf(kind));
      this.ints[SRC] = src;
    }
    this.ints[BUSY] = 1;
  }

  /** ingest() waits (for ring space), or is done with its events. */
  idle(): void {
    this.ints[BUSY] = 0;
  }

  /** The pipeline whose functions run next (the router sets it only when there are several). */
  pipeline(pipe: number): void {
    this.ints[PIPE] = pipe;
  }

  /** The event at `pos` of the current source is being routed. */
  event(pos: number): void {
    this.floats[POS] = pos;
  }

  // The watching thread's side.

  get heartbeat(): number {
    return Atomics.load(this.ints, HEARTBEAT);
  }

  read(): RoutingReport {
    const i = this.ints;
    const location: Location | null = i[SRC] < 0 ? null : {
      source: new TextDecoder().decode(this.name.slice(0, i[NAME_LENGTH])),
      position: this.floats[POS],
      kind: KINDS[i[KIND]],
    };
    return { busy: i[BUSY] === 1, pipe: i[PIPE], location };
  }
}
