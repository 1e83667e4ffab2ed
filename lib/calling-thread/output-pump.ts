import { FrameView } from '../shared/codec/frame.js';
import type { Doorbell } from '../shared/ring/doorbell.js';
import type { RingReader } from '../shared/ring/reader.js';

const IDLE_WAIT_MS = 50;

/**
 * The main thread's read loop over every actor's output ring. It sleeps on the shared doorbell when
 * all rings are empty, and stops reading (leaving the rings to fill) while a reader is behind.
 */
export class OutputPump {
  private stopped = false;
  /** Resolves a backpressure wait early when the pump is stopped (a reader may never read again). */
  private wakeOnStop: (() => void) | null = null;

  constructor(private readonly readers: RingReader[], private readonly doorbell: Doorbell,
              /** Handle one frame; a promise means "wait for it before reading on" (backpressure). */
              private readonly handle: (frame: FrameView) => Promise<void> | void,
              /** True once everything expected has arrived. */
              private readonly done: () => boolean) {}

  async run(): Promise<void> {
    const frame = new FrameView();
    while (!this.stopped && !this.done()) {
      const seen = this.doorbell.current();
      let got = false;
      for (const reader of this.readers) {
        const bytes = reader.next();
        if (bytes === null) continue;
        got = true;
        const wait = this.handle(frame.decode(bytes));
        if (wait) await Promise.race([wait, new Promise<void>((resolve) => (this.wakeOnStop = resolve))]);
        if (this.stopped) return;
      }
      if (!got) await this.doorbell.wait(seen, IDLE_WAIT_MS);
    }
  }

  stop(): void {
    this.stopped = true;
    this.wakeOnStop?.();
  }

  /**
   * Once stopped (and run() has returned) with the producers ended: hand on every frame still in the
   * rings, without waiting for readers. Bounded by what the rings hold. A frame that cannot be read is
   * passed over (the engine has failed already: run() met it first, or will not need it).
   */
  drain(): void {
    const frame = new FrameView();
    for (const reader of this.readers) {
      for (let bytes = reader.next(); bytes !== null; bytes = reader.next()) {
        let decoded: FrameView;
        try {
          decoded = frame.decode(bytes);
        } catch {
          continue;
        }
        void this.handle(decoded);
      }
    }
  }
}
