/**
 * A pipeline's watermark over the sources feeding it, as Flink combines source splits: each source
 * has its own bounded-out-of-orderness watermark, and the pipeline's is the least of them. With
 * `idleAfterMs` (Flink's withIdleness), a source that has sent no event for that long stops holding
 * the watermark back, and holds it again once it sends; when every source is idle, the watermark goes
 * to the largest any has shown. The watermark never goes back.
 *
 * Idleness is decided here, on the router's thread, and the result travels in band with the events
 * (each carries the watermark before it), so the actors' outputs do not depend on their timing.
 */
export class SourceWatermarks {
  private readonly sources = new Map<number, { largest: number; seenAt: number }>();
  private watermark = -Infinity;
  private dirty = false;
  /** The wall clock as of the latest tick(); reading it per event would cost more than the rest. */
  private now = 0;

  constructor(private readonly outOfOrderMs: number, private readonly idleAfterMs: number | null) {}

  /** Set the clock sources' idleness is judged by (once per ingest() call, and on the idleness timer). */
  tick(now: number): void {
    this.now = now;
    if (this.idleAfterMs !== null) this.dirty = true;
  }

  observe(src: number, t: number): void {
    const s = this.sources.get(src);
    if (s === undefined) {
      this.sources.set(src, { largest: t, seenAt: this.now });
      this.dirty = true;
      return;
    }
    s.seenAt = this.now;
    if (t > s.largest) {
      s.largest = t;
      this.dirty = true;
    }
  }

  current(): number {
    if (!this.dirty) return this.watermark;
    this.dirty = false;
    let least = Infinity;
    let most = -Infinity;
    for (const s of this.sources.values()) {
      if (s.largest > most) most = s.largest;
      if (this.idleAfterMs !== null && this.now - s.seenAt >= this.idleAfterMs) continue;
      if (s.largest < least) least = s.largest;
    }
    // Every source idle: none holds the watermark back, so it goes to what the sources have shown.
    const basis = least === Infinity ? most : least;
    if (basis - this.outOfOrderMs - 1 > this.watermark) this.watermark = basis - this.outOfOrderMs - 1;
    return this.watermark;
  }

  /**
   * For a chunk of events from `src` (see chunk-admission.ts): the watermark now, the largest time `src`
   * has shown (-Infinity if none), and the least largest time of the other sources that hold the
   * watermark back (Infinity if none does). While `src` sends, it is not idle, so an event of the chunk
   * whose source has shown `m` by then has the watermark max(watermark, min(m, others) − outOfOrderMs − 1).
   */
  basis(src: number): { watermark: number; largest: number; others: number } {
    const watermark = this.current();
    let others = Infinity;
    for (const [id, s] of this.sources) {
      if (id === src || (this.idleAfterMs !== null && this.now - s.seenAt >= this.idleAfterMs)) continue;
      if (s.largest < others) others = s.largest;
    }
    return { watermark, largest: this.sources.get(src)?.largest ?? -Infinity, others };
  }

  /** Largest event time per source id (what a checkpoint records). */
  largest(): Array<[number, number]> {
    return [...this.sources].map(([src, s]) => [src, s.largest]);
  }

  /**
   * After recovery: the watermark the checkpoint's sources made, and each source's largest time once it
   * sends again (`resume`); a source that never comes back holds nothing.
   */
  restore(largest: number[]): void {
    if (largest.length > 0) this.watermark = Math.min(...largest) - this.outOfOrderMs - 1;
  }

  resume(src: number, largest: number): void {
    this.sources.set(src, { largest, seenAt: this.now });
    this.dirty = true;
  }
}
