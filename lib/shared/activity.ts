/**
 * What an actor is doing, in a small SharedArrayBuffer of its own that the main thread can read at any
 * time: while the actor's thread is stuck in a user function, or after it has crashed or run out of
 * memory. The engine uses it to say where a failure happened (pipeline, key-group, input position) and
 * to notice a call that has run for too long (maxCallMs).
 *
 * The actor writes a few typed-array slots per record it applies (no allocation, no atomics: a reader
 * that sees a slightly stale value only words a message a little less exactly). Both sides import this
 * module, so the meaning of every slot lives here, as lib/shared/ring/layout.ts does for the rings.
 */
import { Kind } from './codec/records.js';

// Int32 slots.
/** 1 while the actor applies records (user code may be running), 0 between frames. */
const BUSY = 0;
/** Bumped when the actor starts applying a frame, touches a key-group (an event, a timer) and emits an output. */
const PROGRESS = 1;
/** The record kind being applied: EVENT, WATERMARK, PROCESSING_TIME, or END (the end of input fires everything). */
const KIND = 2;
/** The pipeline of that record (or of the timer being fired); -1 for none. */
const PIPE = 3;
/** The key-group last touched (the event's, or the timer's being fired); -1 for none yet. */
const KG = 4;
/** The source id of the last event applied; -1 for none yet. */
const SRC = 5;
const INTS = 8;
// Float64 slots, after the ints.
/** The position of the last event applied in its source (a line, an ordinal). */
const POS = 0;
/** The watermark or processing time being advanced to. */
const TIME = 1;
const FLOATS = 2;

export const ACTIVITY_BYTES = INTS * 4 + FLOATS * 8;

export function createActivity(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(ACTIVITY_BYTES);
  new Int32Array(buffer, 0, INTS).set([0, 0, 0, -1, -1, -1]);
  return buffer;
}

/** A snapshot of an actor's slot, read by the main thread. */
export interface ActivityReport {
  busy: boolean;
  /** The kind of record being applied (or last applied, when not busy). */
  kind: number;
  pipe: number;
  kg: number;
  /** The last event applied: its source id (-1: none yet) and position. */
  src: number;
  pos: number;
  /** The watermark or processing time being advanced to. */
  time: number;
}

export class Activity {
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.ints = new Int32Array(buffer, 0, INTS);
    this.floats = new Float64Array(buffer, INTS * 4, FLOATS);
  }

  // The actor's side.

  /** Records of a frame are about to be applied. */
  begin(): void {
    this.ints[PROGRESS]++;
    this.ints[BUSY] = 1;
  }

  /** Between frames: no user code runs. */
  end(): void {
    this.ints[BUSY] = 0;
  }

  /** An event of `pipe` for key-group `kg`, from (src, pos), is being applied: progress, and where. */
  event(pipe: number, kg: number, src: number, pos: number): void {
    this.ints[PROGRESS]++;
    this.ints[KIND] = Kind.EVENT;
    this.ints[PIPE] = pipe;
    this.ints[KG] = kg;
    this.ints[SRC] = src;
    this.floats[POS] = pos;
  }

  /** A watermark (of `pipe`), the processing-time clock (pipe -1) or the end of input (END) fires what is due. */
  advancing(kind: typeof Kind.WATERMARK | typeof Kind.PROCESSING_TIME | typeof Kind.END, pipe: number, time: number): void {
    this.ints[KIND] = kind;
    this.ints[PIPE] = pipe;
    this.ints[KG] = -1;
    this.floats[TIME] = time;
  }

  /** A key-group of `pipe` is about to change because a timer fires (events say so in event()). */
  touched(pipe: number, kg: number): void {
    this.ints[PROGRESS]++;
    this.ints[PIPE] = pipe;
    this.ints[KG] = kg;
  }

  /** An output record was emitted. */
  emitted(): void {
    this.ints[PROGRESS]++;
  }

  // The main thread's side.

  get busy(): boolean {
    return Atomics.load(this.ints, BUSY) === 1;
  }

  get progress(): number {
    return Atomics.load(this.ints, PROGRESS);
  }

  read(): ActivityReport {
    const i = this.ints;
    return { busy: i[BUSY] === 1, kind: i[KIND], pipe: i[PIPE], kg: i[KG], src: i[SRC], pos: this.floats[POS], time: this.floats[TIME] };
  }
}
