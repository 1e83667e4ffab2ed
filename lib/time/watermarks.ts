/**
 * Bounded out-of-orderness watermarks, as Flink's BoundedOutOfOrdernessWatermarks: after seeing a
 * largest event time M, no event older than M - B is expected, so the watermark is M - B - 1.
 */
export class BoundedOutOfOrderness {
  private maxSeen = -Infinity;
  constructor(private readonly outOfOrderMs: number) {}

  observe(t: number): void {
    if (t > this.maxSeen) this.maxSeen = t;
  }

  current(): number {
    return this.maxSeen - this.outOfOrderMs - 1;
  }

  /** The largest event time seen (what a checkpoint records, and recovery restores via observe()). */
  largest(): number {
    return this.maxSeen;
  }
}

/** An event time must be a finite number of milliseconds (a Date is taken as its getTime()). */
export function toEventTime(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value instanceof Date) {
    const t = value.getTime();
    return Number.isFinite(t) ? t : null;
  }
  return null;
}
