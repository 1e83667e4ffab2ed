import { holdsBarrierOrEnd } from '../shared/codec/frame.js';
import type { RingReader } from '../shared/ring/reader.js';

/** Frames read ahead at most, and bytes: a bound on what an actor holds besides its ring. */
const MAX_FRAMES = 64;
const MAX_BYTES = 8 * 1024 * 1024;

/**
 * An actor's input, read from its ring ahead of applying it. Every frame is logged (appended to the WAL) as
 * it is read; the frames waiting behind it in the ring are read and logged too, and so are those that come
 * while it is applied (readMore(), between slices of its records), so that the actor can acknowledge them,
 * which is what the calling thread's ingest() waits for, before applying them rather than after: the calling
 * thread goes on with its next batch while the actor applies the last one's frames. A logged frame is
 * replayed after a crash, applied or not, so acknowledging it is safe. A frame read ahead is taken into a
 * buffer of its own; one read when none waits is the reader's buffer, which reads ahead leave alone.
 *
 * Never past a frame with a checkpoint barrier or the end marker until it is applied: what follows a barrier
 * goes to the WAL segment that the barrier starts when it is applied. Not at all (`enabled` false) without
 * a WAL, or for an actor whose operators read the processing-time clock: its clock ticks are logged as
 * they are applied, between frames, and frames logged ahead of them would be replayed in another order.
 */
export class InputAhead {
  private readonly frames: Uint8Array[] = [];
  private bytes = 0;
  /** The frame being applied, or one in `frames`, holds a barrier or the end marker: nothing more is read until it is applied. */
  private held = false;

  constructor(private readonly reader: RingReader, private readonly log: (frame: Uint8Array) => void, private readonly enabled: boolean) {}

  /**
   * The next frame to apply, logged, or null if none is waiting; valid until the next call. `taken` runs
   * when a frame comes from the ring while none is waiting here, before it is logged (where the actor logs
   * its clock's tick).
   */
  next(taken: () => void): Uint8Array | null {
    const waiting = this.frames.shift();
    if (waiting !== undefined) {
      this.bytes -= waiting.length;
      this.readMore();
      return waiting;
    }
    // The frame returned last has been applied.
    this.held = false;
    const bytes = this.reader.next();
    if (bytes === null) return null;
    taken();
    this.log(bytes);
    if (this.enabled) {
      this.held = holdsBarrierOrEnd(bytes);
      this.readMore();
    }
    return bytes;
  }

  /** Read and log what has come into the ring, within the bounds; nothing while a barrier or the end is ahead. */
  readMore(): void {
    while (this.enabled && !this.held && this.frames.length < MAX_FRAMES && this.bytes < MAX_BYTES) {
      const frame = this.reader.take();
      if (frame === null) return;
      this.log(frame);
      this.frames.push(frame);
      this.bytes += frame.length;
      this.held = holdsBarrierOrEnd(frame);
    }
  }
}
