import type { RingWriter } from '../ring/writer.js';
import { FrameBuilder, type EncodedFrame } from './frame.js';

/** A record too large for any frame the ring accepts; the caller reports it (it is not lost silently). */
export interface Oversize {
  kind: number;
  pipe: number;
  src: number;
  kg: number;
  pos: number;
  key: unknown;
  value: unknown;
  bytes: number;
}

/**
 * Batches records bound for one ring into frames and pushes them in order. Used on both sides:
 * router → actor input rings, and actor → main-thread output rings.
 */
export class FrameSender {
  readonly builder: FrameBuilder;
  private readonly queue: EncodedFrame[] = [];
  /** Frames written to the ring so far (the consumer's durable count is compared with this). */
  written = 0;
  /** Bytes written to the ring so far. */
  bytes = 0;

  constructor(private readonly writer: RingWriter, frameRecords: number, private readonly published: () => void = () => {}) {
    this.builder = new FrameBuilder(frameRecords);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Encode the builder's records into frames queued for the ring (splitting frames that are too big). */
  seal(oversize: (o: Oversize) => void): void {
    const b = this.builder;
    if (b.count === 0) return;
    this.split(0, b.count, oversize);
    b.reset();
  }

  /** Write as many queued frames as fit now; true when the queue is empty. */
  tryPush(): boolean {
    const q = this.queue;
    let written = 0;
    while (written < q.length) {
      const frame = q[written];
      if (!this.writer.tryWrite(frame.length, (bytes, at) => bytes.set(frame, at))) break;
      written++;
      this.bytes += frame.length;
    }
    this.written += written;
    if (written > 0) {
      q.splice(0, written);
      this.published();
    }
    return q.length === 0;
  }

  /** Write every queued frame, waiting for room as needed, unless `abort()` says to give up. */
  async push(abort: () => Error | null = () => null): Promise<void> {
    while (!this.tryPush()) {
      const err = abort();
      if (err) throw err;
      await this.writer.waitForSpace(this.queue[0].length);
    }
  }

  private split(from: number, to: number, oversize: (o: Oversize) => void): void {
    const frame = this.builder.encode(from, to);
    if (frame.length <= this.writer.maxFrame) {
      this.queue.push(frame);
      return;
    }
    if (to - from === 1) {
      const b = this.builder;
      oversize({ kind: b.kind[from], pipe: b.pipe[from], src: b.src[from], kg: b.kg[from], pos: b.pos[from], key: b.keys[from], value: b.values[from], bytes: frame.length });
      return;
    }
    const mid = (from + to) >>> 1;
    this.split(from, mid, oversize);
    this.split(mid, to, oversize);
  }
}
