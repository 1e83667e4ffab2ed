import { CONSUMER_WAITING, FRAME_HEADER, PAD, PRODUCER_WAITING, READ, WRITE, alignUp, type RingBuffers } from './layout.js';
import { WAIT_TIMEOUT_MS, sleepOn, wake } from './wait.js';

/**
 * The consuming side of an SPSC ring. `read()` copies the next frame out of shared memory into a
 * reusable local buffer and frees its space at once, so the producer never waits on our processing,
 * and decoders never see a SharedArrayBuffer (TextDecoder rejects shared views).
 */
export class RingReader {
  private readonly control: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly capacity: number;
  /** Local copy of READ: only this thread ever stores it. */
  private read: number;
  private local = new Uint8Array(64 * 1024);

  constructor(ring: RingBuffers) {
    this.control = new Int32Array(ring.control);
    this.bytes = new Uint8Array(ring.data);
    this.view = new DataView(ring.data);
    this.capacity = ring.data.byteLength;
    this.read = Atomics.load(this.control, READ);
  }

  /**
   * The next frame's payload, or null when the ring is empty. The returned view is valid until the
   * next call (the local buffer is reused).
   */
  next(): Uint8Array | null {
    return this.copyOut(false);
  }

  /** The next frame's payload in a buffer of its own (which later reads leave alone), or null when the ring is empty. */
  take(): Uint8Array | null {
    return this.copyOut(true);
  }

  private copyOut(own: boolean): Uint8Array | null {
    const write = Atomics.load(this.control, WRITE);
    if (write === this.read) return null;
    const cap = this.capacity;
    let offset = this.read & (cap - 1);
    let consumed = 0;
    let length = this.view.getUint32(offset, true);
    if (length === PAD) {
      consumed = cap - offset;
      offset = 0;
      length = this.view.getUint32(0, true);
    }
    consumed += alignUp(FRAME_HEADER + length);
    if (!own && this.local.length < length) this.local = new Uint8Array(Math.max(length, this.local.length * 2));
    const out = own ? new Uint8Array(length) : this.local.subarray(0, length);
    const start = offset + FRAME_HEADER;
    out.set(this.bytes.subarray(start, start + length));
    this.read = (this.read + consumed) | 0;
    Atomics.store(this.control, READ, this.read);
    wake(this.control, READ, PRODUCER_WAITING);
    return out;
  }

  /** Whether a frame is there to read. */
  hasData(): boolean {
    return Atomics.load(this.control, WRITE) !== this.read;
  }

  /**
   * Resolve when data may be available (or after a bounded wait: callers re-check with next()). `elsewhere`:
   * input this reader's wakers also signal (an actor's shuffle rings), checked once the sleep is announced.
   */
  async waitForData(timeoutMs = WAIT_TIMEOUT_MS, elsewhere?: () => boolean): Promise<void> {
    await sleepOn(this.control, WRITE, CONSUMER_WAITING, this.read, timeoutMs, elsewhere);
  }
}
