/**
 * The shared layout of one single-producer/single-consumer ring, and of the doorbell that rings for
 * several of them.
 *
 * Both sides import this module, so the meaning of every shared slot lives in one place.
 * The control block is an Int32Array over its own SharedArrayBuffer; each counter sits on its
 * own 64-byte cache line so the producer's and the consumer's stores do not false-share.
 *
 * WRITE and READ are free-running byte counters (they wrap at 2^32). The number of bytes in use is
 * `(WRITE - READ) | 0`, which stays correct across the wrap because capacity is at most 2^30.
 */
export const WRITE = 0;
export const READ = 16;
/** How many sleep on WRITE on the consumer's side (see wait.ts); the producer notifies only when some do. */
export const CONSUMER_WAITING = 32;
/** How many sleep on READ on the producer's side; the consumer notifies only when some do. */
export const PRODUCER_WAITING = 48;
/**
 * How many frames the consumer has made durable (written to its WAL and fsynced, or simply received
 * when durability is off). The producer acknowledges a batch once this reaches the batch's last frame.
 */
export const DURABLE = 64;
/** How many sleep on DURABLE on the producer's side (ingest() calls in flight may be several). */
export const DURABLE_WAITING = 80;
export const CONTROL_INTS = 96;

/**
 * The doorbell (see doorbell.ts): one Int32Array over its own SharedArrayBuffer that every actor rings
 * after publishing output, so the main thread sleeps on one address for all output rings. DOORBELL_RINGS
 * counts how often it was rung; DOORBELL_WAITING counts the main thread's sleepers on it.
 */
export const DOORBELL_RINGS = 0;
export const DOORBELL_WAITING = 16;
export const DOORBELL_INTS = 32;

/** Every frame starts on an 8-byte boundary so Float64Array views of its columns line up. */
export const ALIGN = 8;
/** A frame header: u32 payload length, u32 reserved. */
export const FRAME_HEADER = 8;
/** A header whose length is PAD means "the rest of the buffer is unused, continue at offset 0". */
export const PAD = 0xffffffff;

export interface RingBuffers {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export const DEFAULT_RING_BYTES = 4 * 1024 * 1024;

export function createRing(capacity = DEFAULT_RING_BYTES): RingBuffers {
  if (!Number.isInteger(capacity) || capacity < 1024 || capacity > 2 ** 30 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two between 1 KiB and 1 GiB, got ${capacity}`);
  }
  return {
    control: new SharedArrayBuffer(CONTROL_INTS * 4),
    data: new SharedArrayBuffer(capacity),
  };
}

/** The largest frame a ring accepts: half its capacity, which guarantees progress (see RingWriter). */
export function maxFrameBytes(capacity: number): number {
  return capacity / 2 - FRAME_HEADER;
}

/** Bytes a ring holds now (written, not yet read); either side may ask. */
export function occupancy(control: Int32Array): number {
  return (Atomics.load(control, WRITE) - Atomics.load(control, READ)) | 0;
}

export function alignUp(n: number): number {
  return (n + ALIGN - 1) & ~(ALIGN - 1);
}
