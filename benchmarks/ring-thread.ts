/**
 * One side of a ring measured by rings.ts, in a worker thread. The producer writes `records` messages of
 * `size` bytes whose first 4 hold their sequence number; the consumer reads them and checks that each
 * arrives whole and in order. Both start on the main thread's 'go', so thread start-up is not timed, and
 * post 'done' at the end.
 *
 * keyflow's ring is used as the engine uses it: RingWriter.tryWrite filling the frame in place, and
 * waitForSpace when the ring is full; RingReader.next, which copies the frame out, and waitForData when it
 * is empty. ringbuf.js has no framing of variable-length messages and no way to sleep (it is wait-free,
 * made for audio threads that poll), so a message is a u32 length then the payload, pushed only once all of
 * it fits (as its own ParameterWriter pushes its fixed-size messages); the consumer pops the length, then the
 * payload once all of it is there; each side polls while the ring is full or empty.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import type { RingBuffers } from '../lib/shared/ring/layout.js';
import { RingReader } from '../lib/shared/ring/reader.js';
import { RingWriter } from '../lib/shared/ring/writer.js';

export type RingImpl = 'keyflow' | 'ringbuf.js';

export interface RingSide {
  impl: RingImpl;
  role: 'producer' | 'consumer';
  /** keyflow's control and data buffers, or ringbuf.js's one buffer. */
  ring: RingBuffers | SharedArrayBuffer;
  size: number;
  records: number;
}

const { impl, role, ring, size, records } = workerData as RingSide;

const stamp = (bytes: Uint8Array, n: number) => {
  bytes[0] = n;
  bytes[1] = n >>> 8;
  bytes[2] = n >>> 16;
  bytes[3] = n >>> 24;
};
const u32 = (bytes: Uint8Array) => (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;

function check(bytes: Uint8Array, length: number, i: number): void {
  if (length !== size || u32(bytes) !== i) throw new Error(`${impl}: message ${i} arrived as ${length} bytes numbered ${u32(bytes)}`);
}

async function keyflowProducer(ring: RingBuffers): Promise<void> {
  const writer = new RingWriter(ring);
  const payload = new Uint8Array(size);
  const fill = (bytes: Uint8Array, at: number) => bytes.set(payload, at);
  for (let i = 0; i < records; i++) {
    stamp(payload, i);
    while (!writer.tryWrite(size, fill)) await writer.waitForSpace(size);
  }
}

async function keyflowConsumer(ring: RingBuffers): Promise<void> {
  const reader = new RingReader(ring);
  for (let i = 0; i < records;) {
    const bytes = reader.next();
    if (bytes === null) {
      await reader.waitForData();
      continue;
    }
    check(bytes, bytes.length, i++);
  }
}

function ringbufProducer(ring: RingBuffer): void {
  const header = new Uint8Array(4);
  const payload = new Uint8Array(size);
  stamp(header, size);
  for (let i = 0; i < records; i++) {
    stamp(payload, i);
    while (ring.availableWrite() < 4 + size);
    ring.push(header);
    ring.push(payload);
  }
}

function ringbufConsumer(ring: RingBuffer): void {
  const header = new Uint8Array(4);
  const payload = new Uint8Array(size);
  for (let i = 0; i < records; i++) {
    while (ring.availableRead() < 4);
    ring.pop(header, 4);
    const length = u32(header);
    // The producer pushes the payload right after its length.
    while (ring.availableRead() < length);
    ring.pop(payload, length);
    check(payload, length, i);
  }
}

function run(): void | Promise<void> {
  if (impl === 'keyflow') return role === 'producer' ? keyflowProducer(ring as RingBuffers) : keyflowConsumer(ring as RingBuffers);
  const buffer = new RingBuffer(ring as SharedArrayBuffer, Uint8Array);
  return role === 'producer' ? ringbufProducer(buffer) : ringbufConsumer(buffer);
}

parentPort!.once('message', () => {
  void Promise.resolve(run()).then(() => parentPort!.postMessage('done'));
});
parentPort!.postMessage('ready');
