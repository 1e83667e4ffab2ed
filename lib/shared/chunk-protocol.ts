/**
 * What the calling thread and the pool threads of a parallel source exchange: a pool thread takes a
 * chunk of NDJSON bytes (whole lines) and parses it, or a range of Nexmark events and generates them, runs
 * every pipeline's stateless part on its events and returns frames for each actor, ready for the rings;
 * the calling thread takes chunks in in input order (see calling-thread/chunk-admission.ts). Line numbers
 * in a result (a generated event's number, for a range) count from the chunk's first (1).
 */
import type { Problem } from './dead-letter.js';
import type { BadLine } from './ndjson-lines.js';
import type { GeneratorOptions } from '../nexmark/generator.js';

/** What every pool thread is started with (its workerData). */
export interface PoolThreadData {
  /** A mailbox (see mailbox.ts) that will hold the PoolSetup: the threads may start before it is known. */
  setup: SharedArrayBuffer;
}

/** What the pool threads route for. */
export interface PoolSetup {
  pipelines: Array<{ name: string; moduleUrl: string }>;
  /** Actors, key-groups and frame limits: frames are built for these rings. */
  workers: number;
  maxKeyGroups: number;
  frameRecords: number;
  maxFrame: number;
}

/**
 * NDJSON lines of a file, by where they start: those that start at a byte in [from, to) (a line starts
 * at 0 or after a newline), the last one read on to its newline or the file's end. Ranges that meet
 * give every line once, wherever they are cut. From 0: the input's first line (a byte order mark there is dropped).
 */
export interface FileRange {
  path: string;
  from: number;
  to: number;
}

/** What a chunk holds: whole lines of NDJSON, a range of a file's lines, or a range of generated Nexmark events. */
export type ChunkInput =
  /** Whole lines; the last may lack its newline (the end of the input). Its own buffer (transferred). atStart: the first line is the input's first (a byte order mark there is dropped). */
  | { ndjson: Uint8Array; atStart: boolean }
  /** Read by the pool thread itself (see pool-thread/file-range.ts). */
  | { file: FileRange }
  /** Events first .. first + count - 1 of a generator with these options (see nexmark/generator.ts). */
  | { nexmark: GeneratorOptions & { first: number; count: number } };

export interface ChunkTask {
  input: ChunkInput;
  /** The source id the events carry. */
  src: number;
  /** The wall clock (for the warning about event times far ahead of it). */
  now: number;
  /** Whether window panes may be combined (see window-combiner.ts): the source is not exactly-once, and the chunk is not being routed again. */
  combine: boolean;
  /** Where the pool thread records what it routes (see routing-activity.ts; positions count from the chunk's first line), for a watchdog. */
  activity: SharedArrayBuffer;
}

export interface ChunkResult {
  /** Per actor, the frames for its input ring, in order; each event's watermark column holds the largest event time before it in the chunk. */
  frames: Uint8Array[][];
  /** Lines in the chunk, blank and bad ones included. */
  lines: number;
  /** Events parsed (the lines that are JSON). */
  events: number;
  bad: BadLine[];
  /** Events a pipeline could not route (a throwing map, a missing key…), in line order per pipeline. */
  problems: Array<{ problem: Problem; pipe: number; line: number }>;
  /** The first event time far ahead of the wall clock, per pipeline that had one. */
  future: Array<{ pipe: number; line: number; time: number }>;
  /** Per pipeline, the largest event time in the chunk (-Infinity if none). */
  largest: number[];
  /** Per pipeline, the least (earliest window end − 1) of the window panes combined (Infinity if none): see chunk-admission.ts. */
  due: number[];
  /** The task's input, given back when panes were combined, so the chunk can be routed again event by event. */
  input?: ChunkInput;
}
