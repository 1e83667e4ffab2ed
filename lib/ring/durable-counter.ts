import { DURABLE, DURABLE_WAITING, type RingBuffers } from './layout.js';
import { waitWhileEqual } from './wait.js';

const WAIT_TIMEOUT_MS = 100;

/** The consumer's count of durable frames, published in the ring's control block (see layout.ts). */
export class DurableCounter {
  private readonly control: Int32Array;

  constructor(ring: RingBuffers) {
    this.control = new Int32Array(ring.control);
  }

  /** Consumer side: frames up to `count` are durable. */
  publish(count: number): void {
    Atomics.store(this.control, DURABLE, count | 0);
    if (Atomics.load(this.control, DURABLE_WAITING) !== 0) Atomics.notify(this.control, DURABLE);
  }

  /** Producer side: resolve once `count` frames are durable, unless `abort()` gives a reason to stop. */
  async reach(count: number, abort: () => Error | null): Promise<void> {
    for (;;) {
      const now = Atomics.load(this.control, DURABLE);
      // Free-running counters: compare by difference so the wrap at 2^31 does not matter.
      if (((now - count) | 0) >= 0) return;
      const err = abort();
      if (err) throw err;
      Atomics.store(this.control, DURABLE_WAITING, 1);
      await waitWhileEqual(this.control, DURABLE, now, WAIT_TIMEOUT_MS);
      Atomics.store(this.control, DURABLE_WAITING, 0);
    }
  }
}
