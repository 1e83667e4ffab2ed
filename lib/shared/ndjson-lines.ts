/**
 * Newline-delimited JSON lines into events, numbered, with the lines that are not JSON (or not UTF-8)
 * and why. Used by the NDJSON source on the calling thread and by pool threads on a chunk of a file.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import type { DecodingBuffer } from './codec/buffer-slices.js';
import { codes, describeThrown, type ErrorCode } from './errors.js';
import { JsonShapes } from './json-shapes.js';

export interface BadLine {
  line: number;
  raw: string;
  detail: string;
  /** ERR_KEYFLOW_BAD_JSON, or ERR_KEYFLOW_BAD_ENCODING for a line that is not UTF-8. */
  code: ErrorCode;
}

export interface NdjsonBatch {
  events: unknown[];
  /** 1-based line number of each event. */
  lines: number[];
  /** Lines that are not valid JSON (or not UTF-8), with why. */
  bad: BadLine[];
  /** Bytes of input consumed so far (for progress). */
  bytes: number;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = 0xfeff;
const RAW_SHOWN = 1000;

/** The object shapes this thread has seen, shared by every input it reads (see json-shapes.ts). */
const shapes = new JsonShapes();

/** Turns whole lines into events and bad lines, numbering them, and cuts batches of `batchSize`. */
export class LineBatcher {
  private lineNo = 0;
  private batch: NdjsonBatch = { events: [], lines: [], bad: [], bytes: 0 };

  /** `atStart`: the first line is the first of the input (a byte order mark there is dropped). */
  constructor(private readonly batchSize: number, private readonly atStart = true) {}

  /** Lines read so far, blank and bad ones included (the number of the last). */
  get lines(): number {
    return this.lineNo;
  }

  /** Lines taken since the last batch. */
  get pending(): number {
    return this.batch.events.length + this.batch.bad.length;
  }

  /** The batch so far; `bytes`: input consumed so far. */
  flush(bytes: number): NdjsonBatch {
    const full = this.batch;
    full.bytes = bytes;
    this.batch = { events: [], lines: [], bad: [], bytes: 0 };
    return full;
  }

  /** Whole lines, separated by '\n' (the last one without it); yields every batch that fills. */
  *add(region: Buffer, bytes: number): Generator<NdjsonBatch> {
    // Line by line from the bytes: the region as one string would be a large object (a region is about a
    // megabyte), allocated and collected by the operating system's pages at every chunk.
    const ascii = isAscii(region);
    if (ascii || isUtf8(region)) {
      const text = region as DecodingBuffer;
      for (let start = 0; ;) {
        const nl = region.indexOf(NEWLINE, start);
        const end = nl < 0 ? region.length : nl;
        const value = shapes.parse(text, start, end > start && region[end - 1] === CR ? end - 1 : end, !ascii);
        if (value === undefined) this.take(ascii ? text.latin1Slice(start, end) : text.utf8Slice(start, end));
        else this.push(value, ++this.lineNo);
        if (this.pending >= this.batchSize) yield this.flush(bytes);
        if (nl < 0) return;
        start = nl + 1;
      }
    }
    // Some line is not UTF-8: find which, line by line (only in this case).
    for (let start = 0; ;) {
      const nl = region.indexOf(NEWLINE, start);
      const line = nl < 0 ? region.subarray(start) : region.subarray(start, nl);
      if (isUtf8(line)) this.take(line.toString('utf8'));
      else this.notUtf8(line);
      if (this.pending >= this.batchSize) yield this.flush(bytes);
      if (nl < 0) return;
      start = nl + 1;
    }
  }

  private take(text: string): void {
    const lineNo = ++this.lineNo;
    let line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (lineNo === 1 && this.atStart && line.charCodeAt(0) === BOM) line = line.slice(1);
    if (line.trim().length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      this.batch.bad.push({ line: lineNo, raw: shown(line), detail: `not valid JSON: ${describeThrown(err)}`, code: codes.BAD_JSON });
      return;
    }
    this.push(value, lineNo);
    shapes.learn(value);
  }

  private push(event: unknown, lineNo: number): void {
    this.batch.events.push(event);
    this.batch.lines.push(lineNo);
  }

  private notUtf8(bytes: Buffer): void {
    const at = firstInvalidSequence(bytes);
    const hex = [...bytes.subarray(at, at + 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    this.batch.bad.push({
      line: ++this.lineNo,
      raw: shown(bytes.toString('utf8')),
      detail: `not valid UTF-8 at byte ${at + 1} of the line (${hex}; shown as U+FFFD in raw): the input must be UTF-8 text`,
      code: codes.BAD_ENCODING,
    });
  }
}

function shown(line: string): string {
  return line.length > RAW_SHOWN ? line.slice(0, RAW_SHOWN) + '…' : line;
}

/** Where the first byte sequence that is not UTF-8 starts in `b` (which isUtf8() rejected). */
function firstInvalidSequence(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const tail = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (tail === 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points above U+10FFFF.
    const low = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const high = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (i + tail >= b.length || b[i + 1] < low || b[i + 1] > high) return i;
    for (let k = 2; k <= tail; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    i += tail + 1;
  }
  return 0;
}

/**
 * Every line of `region` (whole lines, the last without its newline), handed to `take` in batches of at most
 * `batchSize` lines as they are parsed, so a batch's events can be done with before the next is parsed
 * (they then die young, never copied by the garbage collector); returns how many lines the region held.
 */
export function forEachBatch(region: Buffer, atStart: boolean, batchSize: number, take: (batch: NdjsonBatch) => void): number {
  const batcher = new LineBatcher(batchSize, atStart);
  for (const batch of batcher.add(region, region.length)) take(batch);
  take(batcher.flush(region.length));
  return batcher.lines;
}
