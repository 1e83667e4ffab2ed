import {
  CONSUMER_WAITING, FRAME_HEADER, PAD, PRODUCER_WAITING, READ, WRITE,
  alignUp, maxFrameBytes, type RingBuffers,
} from './layout.js';
import { sleepOn, wake } from './wait.js';

/**
 * The producing side of an SPSC ring. Frames are written contiguously (never split across the end of
 * the buffer) so the consumer can read a frame as one view; the write index is published once per frame.
 */
export class RingWriter {
  readonly capacity: number;
  readonly maxFrame: number;
  private readonly control: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** Local copy of WRITE: only this thread ever stores it. */
  private write: number;

  constructor(ring: RingBuffers) {
    this.control = new Int32Array(ring.control);
    this.bytes = new Uint8Array(ring.data);
    this.view = new DataView(ring.data);
    this.capacity = ring.data.byteLength;
    this.maxFrame = maxFrameBytes(this.capacity);
    this.write = Atomics.load(this.control, WRITE);
  }

  /**
   * Try to place a frame of `payloadBytes`; `fill` writes the payload at the given offset of `bytes`.
   * Returns false (writing nothing) when the ring has no room right now.
   */
  tryWrite(payloadBytes: number, fill: (bytes: Uint8Array, offset: number) => void): boolean {
    if (payloadBytes > this.maxFrame) throw new RangeError(`frame of ${payloadBytes} bytes exceeds the ring's limit of ${this.maxFrame}`);
    const total = alignUp(FRAME_HEADER + payloadBytes);
    const cap = this.capacity;
    const used = (this.write - Atomics.load(this.control, READ)) | 0;
    const offset = this.write & (cap - 1);
    const tail = cap - offset;
    // A frame that does not fit before the end goes to offset 0 and the tail is padded. Because a
    // frame is at most half the capacity, an empty ring always has room one way or the other.
    const needed = total <= tail ? total : tail + total;
    if (used + needed > cap) return false;
    let at = offset;
    if (total > tail) {
      this.view.setUint32(offset, PAD, true);
      at = 0;
    }
    this.view.setUint32(at, payloadBytes, true);
    this.view.setUint32(at + 4, 0, true);
    fill(this.bytes, at + FRAME_HEADER);
    this.write = (this.write + needed) | 0;
    // Publishing WRITE is the release: the consumer reads the frame only after it sees this store.
    Atomics.store(this.control, WRITE, this.write);
    wake(this.control, WRITE, CONSUMER_WAITING);
    return true;
  }

  /** Resolve once at least `payloadBytes` could be written (or after a bounded wait: callers retry). */
  async waitForSpace(payloadBytes: number): Promise<void> {
    const total = alignUp(FRAME_HEADER + payloadBytes) * 2; // room for the frame even if it must wrap
    for (;;) {
      const read = Atomics.load(this.control, READ);
      if (this.capacity - ((this.write - read) | 0) >= Math.min(total, this.capacity)) return;
      // No sleep when the consumer freed space meanwhile: check the room again.
      if (await sleepOn(this.control, READ, PRODUCER_WAITING, read)) return;
    }
  }
}

