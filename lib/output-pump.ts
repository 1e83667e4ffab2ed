import { FrameView } from './codec/frame.js';
import type { Doorbell } from './ring/doorbell.js';
import type { RingReader } from './ring/reader.js';

const IDLE_WAIT_MS = 50;

/**
 * The main thread's read loop over every actor's output ring. It sleeps on the shared doorbell when
 * all rings are empty, and stops reading (leaving the rings to fill) while a reader is behind.
 */
export class OutputPump {
  private stopped = false;

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
        if (wait) await wait;
      }
      if (!got) await this.doorbell.wait(seen, IDLE_WAIT_MS);
    }
  }

  stop(): void {
    this.stopped = true;
  }
}
