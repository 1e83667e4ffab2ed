import t from 'tap';
import { Worker } from 'node:worker_threads';
import { createRing, maxFrameBytes } from '../lib/shared/ring/layout.js';
import { RingReader } from '../lib/shared/ring/reader.js';
import { RingWriter } from '../lib/shared/ring/writer.js';
import { sleepOn, wake } from '../lib/shared/ring/wait.js';

const PRODUCER = new URL('./fixtures/ring-producer.js', import.meta.url);

interface Outcome { leftover: boolean; records: number; checksum: number; frames: number; emptyWaits: number; producer: { checksum: number; frames: number; fullWaits: number } }

/** Consume on this thread while a worker produces; verify order record by record. */
async function stress(options: { capacity: number; records: number; maxPerFrame: number; seed: number; pauseEvery: number; slowEvery: number }): Promise<Outcome> {
  const ring = createRing(options.capacity);
  const worker = new Worker(PRODUCER, { workerData: { ring, records: options.records, maxPerFrame: options.maxPerFrame, seed: options.seed, pauseEvery: options.pauseEvery } });
  const produced = new Promise<Outcome['producer']>((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  const reader = new RingReader(ring);
  let expected = 0;
  let checksum = 0;
  let frames = 0;
  let emptyWaits = 0;
  while (expected < options.records) {
    const frame = reader.next();
    if (frame === null) {
      emptyWaits++;
      await reader.waitForData();
      continue;
    }
    frames++;
    const values = new Uint32Array(frame.buffer, frame.byteOffset, frame.length / 4);
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== expected) throw new Error(`record ${expected}: got ${values[i]} (frame ${frames})`);
      checksum = (Math.imul(checksum, 31) + values[i]) | 0;
      expected++;
    }
    // Now and then be slow, so the producer fills the ring and must wait for room.
    if (options.slowEvery > 0 && frames % options.slowEvery === 0) await new Promise((r) => setTimeout(r, 3));
  }
  const producer = await produced;
  await worker.terminate();
  return { leftover: reader.next() !== null, records: expected, checksum, frames, emptyWaits, producer };
}

t.test('millions of records through a small ring, across threads, in order', async (t) => {
  // 64 KiB ring, frames up to 16 KiB: the ring wraps around thousands of times.
  const out = await stress({ capacity: 64 * 1024, records: 3_000_000, maxPerFrame: 4096, seed: 7, pauseEvery: 500, slowEvery: 400 });
  t.equal(out.records, 3_000_000, 'every record arrived');
  t.notOk(out.leftover, 'nothing is left after the last record');
  t.equal(out.checksum, out.producer.checksum, 'checksums match');
  t.equal(out.frames, out.producer.frames, 'every frame arrived once');
  t.ok(out.producer.fullWaits > 0, `the producer waited on a full ring (${out.producer.fullWaits} times)`);
  t.ok(out.emptyWaits > 0, `the consumer waited on an empty ring (${out.emptyWaits} times)`);
});

t.test('frames of awkward sizes wrap with padding and arrive intact', async (t) => {
  // Tiny ring and frames near the maximum size: most writes must wrap or wait.
  const capacity = 4096;
  const maxPerFrame = Math.floor(maxFrameBytes(capacity) / 4);
  const out = await stress({ capacity, records: 500_000, maxPerFrame, seed: 99, pauseEvery: 0, slowEvery: 0 });
  t.equal(out.records, 500_000);
  t.equal(out.checksum, out.producer.checksum);
});

t.test('take() gives a frame a buffer of its own: a next() after it leaves the frame it took, and next() leaves its own', async (t) => {
  const ring = createRing(4096);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  for (const fill of [1, 2, 3, 4]) t.ok(writer.tryWrite(100, (bytes, at) => bytes.fill(fill, at, at + 100)));
  const first = reader.next()!;
  const second = reader.take()!;
  const third = reader.take()!;
  const fourth = reader.next()!;
  t.equal(reader.take(), null, 'null once the ring is empty');
  t.same([first.length, second.length, third.length, fourth.length], [100, 100, 100, 100]);
  t.ok(second.every((b) => b === 2) && third.every((b) => b === 3), 'the frames taken, intact after a next()');
  t.ok(fourth.every((b) => b === 4), 'the last frame read with next()');
  t.ok(first.every((b) => b === 4), "next() reuses its buffer: the first frame's view now shows the fourth");
});

t.test('writer refuses what does not fit and never overwrites unread data', async (t) => {
  const ring = createRing(1024);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  const frame = (n: number, fill: number) => (bytes: Uint8Array, at: number) => bytes.fill(fill, at, at + n);
  t.throws(() => writer.tryWrite(maxFrameBytes(1024) + 1, frame(1, 0)), /exceeds/, 'a frame over half the ring is rejected');
  t.ok(writer.tryWrite(400, frame(400, 1)));
  t.ok(writer.tryWrite(400, frame(400, 2)));
  t.notOk(writer.tryWrite(400, frame(400, 3)), 'a full ring says no');
  t.same([...reader.next()!.subarray(0, 3)], [1, 1, 1]);
  t.ok(writer.tryWrite(400, frame(400, 3)), 'room again once the consumer read a frame (wrapping to offset 0)');
  t.same([...reader.next()!.subarray(0, 3)], [2, 2, 2]);
  const third = reader.next()!;
  t.equal(third.length, 400);
  t.ok(third.every((b) => b === 3), 'the wrapped frame is intact');
  t.equal(reader.next(), null);
});

t.test('sleepOn: a sleeper that returns at once does not take the announcement of another still asleep', async (t) => {
  const control = new Int32Array(new SharedArrayBuffer(8));
  const [value, waiting] = [0, 1];
  // B sleeps while the value is 0, for up to a minute: only a notify wakes it in time.
  const b = sleepOn(control, value, waiting, 0, 60_000).then(() => 'woken');
  // A finds the value already moved from what it saw, and does not sleep.
  t.equal(await sleepOn(control, value, waiting, -1, 60_000), false, 'A did not sleep');
  Atomics.store(control, value, 1);
  wake(control, value, waiting);
  const late = new Promise<string>((resolve) => setTimeout(() => resolve('still asleep after 10 s'), 10_000).unref());
  t.equal(await Promise.race([b, late]), 'woken', 'B was notified');
  t.equal(Atomics.load(control, waiting), 0, 'no sleeper left announced');
});
