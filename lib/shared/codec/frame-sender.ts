import { describeThrown } from '../errors.js';
import type { RingWriter } from '../ring/writer.js';
import { FrameBuilder, type EncodedFrame, type PreparedFrame } from './frame.js';
import type { Kind } from './records.js';

/**
 * A record no frame can carry, left out of its frame (the caller reports it; it is not lost silently):
 * too large for the ring (`bytes` set), or its key or value cannot be encoded — a function, a symbol, a
 * cyclic or too deeply nested object (`error` set).
 */
export interface Unsendable {
  kind: Kind;
  pipe: number;
  src: number;
  kg: number;
  pos: number;
  key: unknown;
  value: unknown;
  /** Its encoded size, when it is too large. */
  bytes?: number;
  /** Why it cannot be encoded, when it cannot. */
  error?: string;
}

/**
 * Seals a builder's records into frames of at most `maxFrame` bytes, in order, splitting frames that are
 * too big or hold a record that cannot be encoded (each such record goes to `unsendable` instead). A
 * pool thread seals frames this way and hands them over (take()); a FrameSender also pushes them into a ring.
 */
export class FrameSealer {
  readonly builder: FrameBuilder;
  protected readonly queue: EncodedFrame[] = [];

  constructor(frameRecords: number, readonly maxFrame: number) {
    this.builder = new FrameBuilder(frameRecords);
  }

  get queued(): number {
    return this.queue.length;
  }

  seal(unsendable: (u: Unsendable) => void): void {
    const b = this.builder;
    if (b.count === 0) return;
    try {
      this.split(0, b.count, unsendable);
    } finally {
      b.reset();
    }
  }

  /** The sealed frames, in order; the queue is emptied. */
  take(): EncodedFrame[] {
    return this.queue.splice(0);
  }

  private split(from: number, to: number, unsendable: (u: Unsendable) => void): void {
    let frame: EncodedFrame;
    try {
      frame = this.builder.encode(from, to);
    } catch (err) {
      // Some record cannot be encoded: find it by halves, as for a frame that is too big.
      if (to - from === 1) unsendable(this.record(from, { error: describeThrown(err) }));
      else this.halve(from, to, unsendable);
      return;
    }
    if (frame.length <= this.maxFrame) this.queue.push(frame);
    else if (to - from === 1) unsendable(this.record(from, { bytes: frame.length }));
    else this.halve(from, to, unsendable);
  }

  private halve(from: number, to: number, unsendable: (u: Unsendable) => void): void {
    const mid = (from + to) >>> 1;
    this.split(from, mid, unsendable);
    this.split(mid, to, unsendable);
  }

  private record(i: number, why: { bytes: number } | { error: string }): Unsendable {
    const b = this.builder;
    return { kind: b.kind[i] as Kind, pipe: b.pipe[i], src: b.src[i], kg: b.kg[i], pos: b.pos[i], key: b.keys[i], value: b.values[i], ...why };
  }
}

/**
 * Batches records bound for one ring into frames and pushes them in order. Used on both sides:
 * router → actor input rings, and actor → main-thread output rings.
 */
export class FrameSender extends FrameSealer {
  /** Frames written to the ring so far (the consumer's durable count is compared with this). */
  written = 0;
  /** Bytes written to the ring so far. */
  bytes = 0;

  /**
   * `direct`: sealing may write the frame into the ring at once (see seal), for a sender whose frames may
   * go as soon as they are sealed. An actor's output sender must not: its frames go only once the input
   * that produced them is durable (push, after the WAL's sync).
   */
  constructor(private readonly writer: RingWriter, frameRecords: number, private readonly published: () => void = () => {},
              private readonly direct = false) {
    super(frameRecords, writer.maxFrame);
  }

  /**
   * Seal the builder's records into a frame. A direct sender writes it straight into the ring when nothing
   * is queued before it and there is room (no frame of its own, no copy); otherwise it is queued, as
   * FrameSealer does, until push().
   */
  override seal(unsendable: (u: Unsendable) => void): void {
    const b = this.builder;
    if (!this.direct || b.count === 0 || this.queue.length > 0) return super.seal(unsendable);
    let frame: PreparedFrame;
    try {
      frame = b.prepare();
    } catch {
      // A record that cannot be encoded: FrameSealer finds it (and reports it) by halving.
      return super.seal(unsendable);
    }
    if (frame.size > this.maxFrame) return super.seal(unsendable);
    if (this.writer.tryWrite(frame.size, (bytes, at) => frame.write(bytes, at))) {
      this.sent(1, frame.size);
    } else {
      const out = new Uint8Array(frame.size);
      frame.write(out, 0);
      this.queue.push(out);
    }
    b.reset();
  }

  /** Queue frames sealed elsewhere (by a pool thread), after what is queued already. */
  enqueue(frames: readonly EncodedFrame[]): void {
    for (const f of frames) this.queue.push(f);
  }

  /** Write as many queued frames as fit now; true when the queue is empty. */
  tryPush(): boolean {
    const q = this.queue;
    let written = 0;
    let bytes = 0;
    while (written < q.length) {
      const frame = q[written];
      if (!this.writer.tryWrite(frame.length, (ring, at) => ring.set(frame, at))) break;
      written++;
      bytes += frame.length;
    }
    if (written > 0) {
      q.splice(0, written);
      this.sent(written, bytes);
    }
    return q.length === 0;
  }

  /** `frames` of `bytes` in all are in the ring: count them and tell the consumer. */
  private sent(frames: number, bytes: number): void {
    this.written += frames;
    this.bytes += bytes;
    this.published();
  }

  /** Write every queued frame, waiting for room as needed, unless `abort()` says to give up. */
  async push(abort: () => Error | null = () => null): Promise<void> {
    while (!this.tryPush()) {
      const err = abort();
      if (err) throw err;
      await this.writer.waitForSpace(this.queue[0].length);
    }
  }
}
