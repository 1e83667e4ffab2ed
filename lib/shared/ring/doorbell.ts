import { DOORBELL_INTS, DOORBELL_WAITING, DOORBELL_RINGS } from './layout.js';
import { sleepOn, wake } from './wait.js';

/**
 * One shared counter that several producers ring after publishing, so a single consumer of several
 * rings (the main thread, reading every actor's output ring) can sleep on one address.
 */
export class Doorbell {
  readonly buffer: SharedArrayBuffer;
  private readonly control: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(DOORBELL_INTS * 4)) {
    this.buffer = buffer;
    this.control = new Int32Array(buffer);
  }

  ring(): void {
    Atomics.add(this.control, DOORBELL_RINGS, 1);
    wake(this.control, DOORBELL_RINGS, DOORBELL_WAITING);
  }

  /** The value to pass to `wait`: read it *before* checking the rings, so no ring is missed. */
  current(): number {
    return Atomics.load(this.control, DOORBELL_RINGS);
  }

  async wait(seen: number, timeoutMs: number): Promise<void> {
    await sleepOn(this.control, DOORBELL_RINGS, DOORBELL_WAITING, seen, timeoutMs);
  }
}
