import { Decoder } from './cbor.js';
import { Kind, type SnapshotAck, type SourceInfo, type Unwritable } from './records.js';
import { ColumnReader, ColumnWriter } from './value-columns.js';

/**
 * A frame is a batch of records laid out by column, so the fixed-size fields cost a typed-array store
 * each, and keys and values are value columns (value-columns.ts: numbers, strings and repeated object
 * shapes by column, anything else through cbor-x):
 *
 *   u32 count | u32 body bytes, COLUMNS and ARRAYS set | f64 ts[n] | f64 wm[n] | f64 pos[n] | u16 kg[n] | u16 src[n]
 *   | u8 kind[n] | u8 pipe[n] | pad to 8 | keys column | values column
 *   [INPUTS set: | pad to 8 | u32 m | pad to 8 | f64 inputs[m]]
 *
 * The inputs block holds the numeric aggregate inputs of the frame's PARTIAL records (window-combiner.ts),
 * each record's as its event count and then the inputs, the record's value being where they start: one
 * copy of numbers on each side, where a value per record would be an encode and a decode.
 *
 * Columns are decoded as views into the frame's bytes (which must start 8-byte aligned); byte values in
 * keys and values are copied out of them. Frames written before value columns (COLUMNS clear: the body is
 * cbor [keys[], values[]]) are still read, as write-ahead logs on disk hold them.
 */
const HEADER = 8;
const COLUMNS = 0x8000_0000;
const INPUTS = 0x4000_0000;
/** The columns may hold arrays (value-columns.ts); clear in frames written before there were array columns. */
const ARRAYS = 0x2000_0000;
const BODY_BYTES = 0x1fff_ffff;

/** A PARTIAL record's value while its frame is built: its events' aggregate inputs, event by event (see window-combiner.ts). */
export interface PaneInputs {
  count: number;
  inputs: unknown[];
  /** Every input is a number: they go in the frame's inputs block. */
  numeric: boolean;
}

/**
 * A PARTIAL record's value in a decoded frame: where its events' inputs start in the frame's inputs block
 * (the event count there, then the inputs), or for inputs that are not all numbers, [count, inputs].
 */
export type DecodedPane = number | [count: number, inputs: unknown[]];

/** A PARTIAL record's events' inputs as read from a decoded frame: `count` events' inputs, event by event, from `inputs[at]`. */
export interface PaneView {
  count: number;
  inputs: ArrayLike<unknown>;
  at: number;
}

/** Point `view` at the inputs of the PARTIAL record whose value is `value` in `frame`. */
export function viewPane(frame: FrameView, value: DecodedPane, view: PaneView): PaneView {
  if (typeof value === 'number') {
    view.count = frame.inputs[value];
    view.inputs = frame.inputs;
    view.at = value + 1;
  } else {
    [view.count, view.inputs] = value;
    view.at = 0;
  }
  return view;
}

const align8 = (n: number) => (n + 7) & ~7;

function layout(count: number) {
  const ts = HEADER;
  const wm = ts + count * 8;
  const pos = wm + count * 8;
  const kg = pos + count * 8;
  const src = kg + count * 2;
  const kind = src + count * 2;
  const pipe = kind + count;
  const body = (pipe + count + 7) & ~7;
  return { ts, wm, pos, kg, src, kind, pipe, body };
}

/** Whether frame `bytes` holds a checkpoint barrier or the end marker (read from its kind column, nothing decoded). */
export function holdsBarrierOrEnd(bytes: Uint8Array): boolean {
  const count = new DataView(bytes.buffer, bytes.byteOffset, HEADER).getUint32(0, true);
  const at = layout(count).kind;
  for (let i = at; i < at + count; i++) if (bytes[i] === Kind.BARRIER || bytes[i] === Kind.END) return true;
  return false;
}

const writer = new ColumnWriter();

/** Accumulates records for one destination; `encode()` turns a range of them into frame bytes. */
export class FrameBuilder {
  readonly capacity: number;
  count = 0;
  readonly kind: Uint8Array;
  readonly pipe: Uint8Array;
  readonly src: Uint16Array;
  readonly kg: Uint16Array;
  readonly ts: Float64Array;
  readonly wm: Float64Array;
  readonly pos: Float64Array;
  // Stored by index up to capacity (push() after length = 0 would grow them again frame after frame).
  readonly keys: unknown[];
  readonly values: unknown[];
  /** PARTIAL records since the last reset. */
  private partials = 0;

  constructor(capacity = 1024) {
    this.capacity = capacity;
    this.kind = new Uint8Array(capacity);
    this.pipe = new Uint8Array(capacity);
    this.src = new Uint16Array(capacity);
    this.kg = new Uint16Array(capacity);
    this.ts = new Float64Array(capacity);
    this.wm = new Float64Array(capacity);
    this.pos = new Float64Array(capacity);
    this.keys = new Array<unknown>(capacity).fill(undefined);
    this.values = new Array<unknown>(capacity).fill(undefined);
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  // One builder per record kind (see records.ts), so no caller pads unused fields or orders ids its
  // own way. Each forwards to the positional core `add`, which V8 inlines: no allocation per record.

  /** An event routed to its key-group's actor, stamped with its pipeline's watermark before it. */
  event(pipe: number, src: number, kg: number, ts: number, wm: number, pos: number, key: unknown, value: unknown): void {
    this.add(Kind.EVENT, pipe, src, kg, ts, wm, pos, key, value);
  }

  /** Events of one key and window pane as their aggregates' inputs (see window-combiner.ts), in place of the first; `pane` may grow until the frame is sealed. */
  partial(pipe: number, src: number, kg: number, ts: number, wm: number, pos: number, key: unknown, pane: PaneInputs): void {
    this.partials++;
    this.add(Kind.PARTIAL, pipe, src, kg, ts, wm, pos, key, pane);
  }

  watermark(pipe: number, wm: number): void {
    this.add(Kind.WATERMARK, pipe, 0, 0, NaN, wm, 0, undefined, undefined);
  }

  source(src: number, info: SourceInfo): void {
    this.add(Kind.SOURCE, 0, src, 0, NaN, NaN, 0, undefined, info);
  }

  barrier(checkpoint: number): void {
    this.add(Kind.BARRIER, 0, 0, 0, NaN, NaN, checkpoint, undefined, undefined);
  }

  end(): void {
    this.add(Kind.END, 0, 0, 0, NaN, Infinity, 0, undefined, undefined);
  }

  processingTime(now: number): void {
    this.add(Kind.PROCESSING_TIME, 0, 0, 0, now, NaN, 0, undefined, undefined);
  }

  /** A result, numbered `pos` in its pipeline and key-group. */
  result(pipe: number, kg: number, pos: number, value: unknown): void {
    this.add(Kind.RESULT, pipe, 0, kg, NaN, NaN, pos, undefined, value);
  }

  /** A late event, numbered `pos` in its pipeline and key-group (with the results). */
  late(pipe: number, kg: number, pos: number, event: unknown): void {
    this.add(Kind.LATE, pipe, 0, kg, NaN, NaN, pos, undefined, event);
  }

  /** `count` consecutive results (or late events) of a pipeline as NDJSON lines (a LineBatch), or null: only counted. */
  lines(kind: typeof Kind.RESULT_LINES | typeof Kind.LATE_LINES, pipe: number, kg: number, count: number, batch: Uint8Array | null): void {
    this.add(kind, pipe, 0, kg, NaN, NaN, count, undefined, batch);
  }

  /** A result or late event, numbered `pos`, that JSON cannot write. */
  unwritable(pipe: number, kg: number, pos: number, why: Unwritable): void {
    this.add(Kind.UNWRITABLE, pipe, 0, kg, NaN, NaN, pos, undefined, why);
  }

  /** A problem (a Problem) with the event at (src, pos), or with a timer of key-group `kg`. */
  error(pipe: number, src: number, kg: number, pos: number, key: unknown, problem: unknown): void {
    this.add(Kind.ERROR, pipe, src, kg, NaN, NaN, pos, key, problem);
  }

  barrierAck(checkpoint: number, ack: SnapshotAck): void {
    this.add(Kind.BARRIER_ACK, 0, 0, 0, NaN, NaN, checkpoint, undefined, ack);
  }

  /** The positional core: one store per column. */
  private add(kind: Kind, pipe: number, src: number, kg: number, ts: number, wm: number, pos: number, key: unknown, value: unknown): void {
    const i = this.count++;
    this.kind[i] = kind;
    this.pipe[i] = pipe;
    this.src[i] = src;
    this.kg[i] = kg;
    this.ts[i] = ts;
    this.wm[i] = wm;
    this.pos[i] = pos;
    this.keys[i] = key;
    this.values[i] = value;
  }

  reset(): void {
    this.partials = 0;
    // Let go of the records (a builder may then sit idle a long time).
    this.keys.fill(undefined, 0, this.count);
    this.values.fill(undefined, 0, this.count);
    this.count = 0;
  }

  /** Encode records [from, to) into a standalone frame. */
  encode(from = 0, to = this.count): EncodedFrame {
    const frame = this.prepare(from, to);
    // Not zeroed first: write() sets every byte (as it must in a ring slot, which holds older frames).
    const out = new Uint8Array(Buffer.allocUnsafeSlow(frame.size).buffer, 0, frame.size);
    frame.write(out, 0);
    return out;
  }

  /**
   * Encode records [from, to) up to the bytes: their size, and how to write them at `at` of `target`
   * (where a frame should go, a ring slot say, with no frame of its own in between). Write before anything
   * else is encoded: the body is a view of a buffer the next encode reuses.
   */
  prepare(from = 0, to = this.count): PreparedFrame {
    const n = to - from;
    const panes = this.partials > 0 ? this.paneInputs(from, to) : null;
    writer.reset();
    writer.column(this.keys, from, to);
    if (panes === null) writer.column(this.values, from, to);
    else writer.column(panes.values, 0, n);
    const body = writer.bytes;
    const at = layout(n);
    const blockAt = align8(at.body + body.length);
    const size = panes === null ? at.body + body.length : blockAt + 8 + panes.inputs.byteLength;
    return {
      size,
      write: (target, offset) => {
        // Typed-array views of the target need 8-byte alignment; elsewhere, write through a view of an aligned copy.
        const aligned = (target.byteOffset + offset) % 8 === 0;
        const out = aligned ? new Uint8Array(target.buffer, target.byteOffset + offset, size) : new Uint8Array(size);
        const view = new DataView(out.buffer, out.byteOffset, size);
        view.setUint32(0, n, true);
        view.setUint32(4, body.length | COLUMNS | ARRAYS | (panes === null ? 0 : INPUTS), true);
        if (panes !== null) {
          view.setUint32(blockAt, panes.inputs.length, true);
          view.setUint32(blockAt + 4, 0, true);
          new Float64Array(out.buffer, out.byteOffset + blockAt + 8, panes.inputs.length).set(panes.inputs);
        }
        new Float64Array(out.buffer, out.byteOffset + at.ts, n).set(this.ts.subarray(from, to));
        new Float64Array(out.buffer, out.byteOffset + at.wm, n).set(this.wm.subarray(from, to));
        new Float64Array(out.buffer, out.byteOffset + at.pos, n).set(this.pos.subarray(from, to));
        new Uint16Array(out.buffer, out.byteOffset + at.kg, n).set(this.kg.subarray(from, to));
        new Uint16Array(out.buffer, out.byteOffset + at.src, n).set(this.src.subarray(from, to));
        out.set(this.kind.subarray(from, to), at.kind);
        out.set(this.pipe.subarray(from, to), at.pipe);
        out.fill(0, at.pipe + n, at.body);
        out.set(body, at.body);
        if (panes !== null) out.fill(0, at.body + body.length, blockAt);
        if (!aligned) target.set(out, offset);
      },
    };
  }

  /** Records [from, to)'s values with each numeric PARTIAL's inputs moved to an inputs block (see the layout above). */
  private paneInputs(from: number, to: number): { values: unknown[]; inputs: Float64Array } {
    const { kind } = this;
    const values = this.values.slice(from, to);
    let length = 0;
    for (let i = from; i < to; i++) {
      if (kind[i] !== Kind.PARTIAL) continue;
      const pane = this.values[i] as PaneInputs;
      if (pane.numeric) length += 1 + pane.inputs.length;
    }
    const inputs = new Float64Array(length);
    let at = 0;
    for (let i = from; i < to; i++) {
      if (kind[i] !== Kind.PARTIAL) continue;
      const pane = this.values[i] as PaneInputs;
      if (!pane.numeric) {
        values[i - from] = [pane.count, pane.inputs];
        continue;
      }
      values[i - from] = at;
      inputs[at++] = pane.count;
      inputs.set(pane.inputs as number[], at);
      at += pane.inputs.length;
    }
    return { values, inputs };
  }
}

export type EncodedFrame = Uint8Array;

/** A frame encoded but for its bytes: see FrameBuilder.prepare. */
export interface PreparedFrame {
  size: number;
  write(target: Uint8Array, at: number): void;
}

/** The fixed-size columns of an encoded frame, as views into its bytes (8-byte aligned), without decoding its keys and values. */
export function frameColumns(bytes: Uint8Array): { count: number; kind: Uint8Array; pipe: Uint8Array; wm: Float64Array; pos: Float64Array } {
  const buffer = bytes.buffer;
  const base = bytes.byteOffset;
  const count = new DataView(buffer, base, HEADER).getUint32(0, true);
  const at = layout(count);
  return {
    count,
    kind: new Uint8Array(buffer, base + at.kind, count),
    pipe: new Uint8Array(buffer, base + at.pipe, count),
    wm: new Float64Array(buffer, base + at.wm, count),
    pos: new Float64Array(buffer, base + at.pos, count),
  };
}

/**
 * For frames written before value columns. copyBuffers: byte strings and typed arrays are decoded as
 * copies, never as views into the frame. Both sides read frames into one reused buffer (RingReader), and a
 * byte array an event or a result carries may be kept (in state, by a results consumer) long after the
 * next frame overwrites that buffer.
 */
const NO_INPUTS = new Float64Array(0);

const cborFrames = new Decoder({ useRecords: true, copyBuffers: true });

/** A decoded frame: column views into the frame's bytes plus the decoded keys and values. */
export class FrameView {
  count = 0;
  kind!: Uint8Array;
  pipe!: Uint8Array;
  src!: Uint16Array;
  kg!: Uint16Array;
  ts!: Float64Array;
  wm!: Float64Array;
  pos!: Float64Array;
  keys!: unknown[];
  values!: unknown[];
  /** The numeric inputs of PARTIAL records (see the layout above), a view into the frame's bytes; empty if none. */
  inputs: Float64Array = NO_INPUTS;

  /** `bytes` must start at an 8-byte aligned offset of its buffer. */
  decode(bytes: Uint8Array): this {
    const buffer = bytes.buffer;
    const base = bytes.byteOffset;
    const view = new DataView(buffer, base, HEADER);
    const n = view.getUint32(0, true);
    const body = view.getUint32(4, true);
    const at = layout(n);
    this.count = n;
    this.ts = new Float64Array(buffer, base + at.ts, n);
    this.wm = new Float64Array(buffer, base + at.wm, n);
    this.pos = new Float64Array(buffer, base + at.pos, n);
    this.kg = new Uint16Array(buffer, base + at.kg, n);
    this.src = new Uint16Array(buffer, base + at.src, n);
    this.kind = new Uint8Array(buffer, base + at.kind, n);
    this.pipe = new Uint8Array(buffer, base + at.pipe, n);
    this.inputs = NO_INPUTS;
    if ((body & COLUMNS) !== 0) {
      const columns = new ColumnReader(bytes, at.body, (body & ARRAYS) !== 0);
      this.keys = columns.column(n);
      this.values = columns.column(n);
      if ((body & INPUTS) !== 0) {
        const blockAt = align8(at.body + (body & BODY_BYTES));
        const m = new DataView(buffer, base + blockAt, 4).getUint32(0, true);
        this.inputs = new Float64Array(buffer, base + blockAt + 8, m);
      }
    } else {
      [this.keys, this.values] = cborFrames.decode(bytes.subarray(at.body, at.body + body)) as [unknown[], unknown[]];
    }
    return this;
  }
}
