import { DURABLE, DURABLE_WAITING, type RingBuffers } from './layout.js';
import { sleepOn, wake } from './wait.js';

/** The consumer's count of durable frames, published in the ring's control block (see layout.ts). */
export class DurableCounter {
  private readonly control: Int32Array;

  constructor(ring: RingBuffers) {
    this.control = new Int32Array(ring.control);
  }

  /** Consumer side: frames up to `count` are durable. */
  publish(count: number): void {
    Atomics.store(this.control, DURABLE, count | 0);
    wake(this.control, DURABLE, DURABLE_WAITING);
  }

  /** Producer side: resolve once `count` frames are durable, unless `abort()` gives a reason to stop. */
  async reach(count: number, abort: () => Error | null): Promise<void> {
    for (;;) {
      const now = Atomics.load(this.control, DURABLE);
      // Free-running counters: compare by difference so the wrap at 2^31 does not matter.
      if (((now - count) | 0) >= 0) return;
      const err = abort();
      if (err) throw err;
      await sleepOn(this.control, DURABLE, DURABLE_WAITING, now);
    }
  }
}
