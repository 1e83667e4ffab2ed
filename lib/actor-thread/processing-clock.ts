import { FrameBuilder } from '../shared/codec/frame.js';

/**
 * An actor's processing-time clock, as frames of one PROCESSING_TIME record (codec/records.ts). The actor logs each tick
 * in its WAL before applying it, between the input frames it falls between, so processing-time timers
 * and TTLs replay exactly as they first ran. Ticks come at most once per millisecond, and only for
 * actors whose operators read the clock.
 */
export class ProcessingClock {
  private readonly builder = new FrameBuilder(1);
  private last = -Infinity;

  constructor(private readonly enabled: boolean) {}

  /** A tick frame if the wall clock moved since the last one, else null. */
  tick(): Uint8Array | null {
    if (!this.enabled) return null;
    const now = Date.now();
    if (now <= this.last) return null;
    this.last = now;
    this.builder.processingTime(now);
    const frame = this.builder.encode();
    this.builder.reset();
    return frame;
  }

  /** How long an idle actor may wait for input before work at `due` (wall-clock ms) is late. */
  waitMs(due: number, longest: number): number {
    if (!this.enabled) return longest;
    return Math.max(0, Math.min(longest, due - Date.now()));
  }
}
