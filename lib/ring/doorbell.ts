import { waitWhileEqual } from './wait.js';

const COUNT = 0;
const WAITING = 16;

/**
 * One shared counter that several producers ring after publishing, so a single consumer of several
 * rings (the main thread, reading every actor's output ring) can sleep on one address.
 */
export class Doorbell {
  readonly buffer: SharedArrayBuffer;
  private readonly control: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(32 * 4)) {
    this.buffer = buffer;
    this.control = new Int32Array(buffer);
  }

  ring(): void {
    Atomics.add(this.control, COUNT, 1);
    if (Atomics.load(this.control, WAITING) !== 0) Atomics.notify(this.control, COUNT);
  }

  /** The value to pass to `wait`: read it *before* checking the rings, so no ring is missed. */
  current(): number {
    return Atomics.load(this.control, COUNT);
  }

  async wait(seen: number, timeoutMs: number): Promise<void> {
    Atomics.store(this.control, WAITING, 1);
    if (Atomics.load(this.control, COUNT) === seen) await waitWhileEqual(this.control, COUNT, seen, timeoutMs);
    Atomics.store(this.control, WAITING, 0);
  }
}
