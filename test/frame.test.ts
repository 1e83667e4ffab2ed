import t from 'tap';
import { FrameSender } from '../lib/shared/codec/frame-sender.js';
import { FrameBuilder, FrameView, holdsBarrierOrEnd } from '../lib/shared/codec/frame.js';
import { Kind } from '../lib/shared/codec/records.js';
import { createRing } from '../lib/shared/ring/layout.js';
import { RingReader } from '../lib/shared/ring/reader.js';
import { RingWriter } from '../lib/shared/ring/writer.js';

t.test('a frame round-trips every column, key and value', async (t) => {
  const b = new FrameBuilder(8);
  const values = [{ a: 1, b: 'x', nested: { d: new Date(5).toISOString(), list: [1, 2] } }, { a: 2, b: 'y', nested: null }, undefined];
  b.event(3, 7, 127, 1_700_000_000_123, -Infinity, 42, 'key-1', values[0]);
  b.event(3, 7, 5, 1.5, 99, 43, 12345, values[1]);
  b.watermark(1, 1e15);
  b.end();
  // Decode from an 8-aligned copy, as the ring reader provides.
  const bytes = new Uint8Array(b.encode());
  const f = new FrameView().decode(bytes);
  t.equal(f.count, 4);
  t.same([...f.kind], [Kind.EVENT, Kind.EVENT, Kind.WATERMARK, Kind.END]);
  t.same([...f.pipe], [3, 3, 1, 0]);
  t.same([...f.src], [7, 7, 0, 0]);
  t.same([...f.kg], [127, 5, 0, 0]);
  t.same([...f.ts.slice(0, 2)], [1_700_000_000_123, 1.5]);
  t.ok(Number.isNaN(f.ts[2]));
  t.same([...f.wm], [-Infinity, 99, 1e15, Infinity]);
  t.same([...f.pos], [42, 43, 0, 0]);
  t.same(f.keys, ['key-1', 12345, undefined, undefined]);
  t.same(f.values.slice(0, 2), values.slice(0, 2));
});

t.test('holdsBarrierOrEnd finds a barrier or the end marker among a frame\'s records, and nothing else', async (t) => {
  const frameOf = (fill: (b: FrameBuilder) => void) => {
    const b = new FrameBuilder(16);
    fill(b);
    return b.encode();
  };
  const events = (b: FrameBuilder) => {
    for (let i = 0; i < 5; i++) b.event(0, 0, i, 1_000 + i, 900, i, `k${i}`, { n: i });
    b.watermark(0, 990);
  };
  t.equal(holdsBarrierOrEnd(frameOf(events)), false, 'events and a watermark');
  t.equal(holdsBarrierOrEnd(frameOf((b) => { events(b); b.barrier(3); })), true, 'a barrier after them');
  t.equal(holdsBarrierOrEnd(frameOf((b) => { b.barrier(4); events(b); })), true, 'a barrier before them');
  t.equal(holdsBarrierOrEnd(frameOf((b) => { events(b); b.end(); })), true, 'the end marker');
  t.equal(holdsBarrierOrEnd(frameOf((b) => b.processingTime(5))), false, 'a processing-time tick');
});

t.test('a range of records encodes on its own (used to split oversized frames)', async (t) => {
  const b = new FrameBuilder(16);
  for (let i = 0; i < 10; i++) b.event(0, 0, i, i, i - 1, i, `k${i}`, { i });
  const f = new FrameView().decode(new Uint8Array(b.encode(4, 7)));
  t.equal(f.count, 3);
  t.same(f.keys, ['k4', 'k5', 'k6']);
  t.same(f.values, [{ i: 4 }, { i: 5 }, { i: 6 }]);
  t.same([...f.kg], [4, 5, 6]);
});

t.test('a frame written in place (a ring slot) holds the bytes of one encoded on its own, padding zeroed', async (t) => {
  const b = new FrameBuilder(64);
  for (let i = 0; i < 5; i++) b.event(0, 1, i, i * 10, i - 1, i + 1, `k${i}`, { i, s: 'x'.repeat(i) });
  b.partial(0, 1, 3, 55, 4, 9, 'k3', { count: 2, inputs: [1.5, 2.5], numeric: true });
  b.partial(0, 1, 4, 56, 4, 10, 'k4', { count: 1, inputs: ['a'], numeric: false });
  // Enough of a few strings for a dictionary (value-columns.ts), and numbers that are not int32s.
  for (let i = 0; i < 40; i++) b.event(0, 1, 5, 60 + i, 4, 11 + i, `k${i % 3}`, { s: ['ab', 'cdé'][i % 2], x: i / 3 });
  const alone = b.encode();
  for (const at of [0, 8, 13]) {
    // Stale bytes where the frame goes, as a ring slot holds: every byte must be written, padding included.
    const target = new Uint8Array(alone.length + 40).fill(0xee);
    const frame = b.prepare();
    t.equal(frame.size, alone.length, `at ${at}: the size of the frame encoded alone`);
    frame.write(target, at);
    t.same([...target.subarray(at, at + frame.size)], [...alone], `at ${at}: the same bytes`);
    t.equal(target[at + frame.size], 0xee, `at ${at}: nothing written past it`);
  }
  const f = new FrameView().decode(new Uint8Array(alone));
  t.same([...f.inputs], [2, 1.5, 2.5], 'the numeric pane\'s inputs in the block');
  t.same(f.values.slice(5, 7), [0, [1, ['a']]], 'each pane\'s value: where its inputs start, or [count, inputs]');
  t.same(f.values.slice(7, 9), [{ s: 'ab', x: 0 }, { s: 'cdé', x: 1 / 3 }], 'the events after them');
});

t.test('a direct sender writes a sealed frame into the ring at once, in order behind queued ones; a queuing sender only on push', async (t) => {
  const keysOf = (reader: RingReader) => {
    const out: unknown[] = [];
    for (let bytes = reader.next(); bytes !== null; bytes = reader.next()) out.push(...new FrameView().decode(new Uint8Array(bytes)).keys);
    return out;
  };
  const fill = (s: FrameSender, from: number, n: number) => {
    for (let i = from; i < from + n; i++) s.builder.event(0, 0, 0, i, i, i, i, 'x'.repeat(1_000));
  };
  const ring = createRing(64 * 1024);
  const direct = new FrameSender(new RingWriter(ring), 1024, undefined, true);
  const reader = new RingReader(ring);
  fill(direct, 0, 10);
  direct.seal(() => {});
  t.equal(direct.written, 1, 'written at the seal');
  t.same(keysOf(reader), [...Array(10).keys()], 'readable at once');
  // A full ring: the next frames queue, and a later one waits behind them.
  fill(direct, 10, 25);
  direct.seal(() => {});
  fill(direct, 35, 25);
  direct.seal(() => {});
  fill(direct, 60, 25);
  direct.seal(() => {});
  t.ok(direct.queued > 0, `${direct.queued} frame(s) queued while the ring is full`);
  const got = keysOf(reader);
  await direct.push();
  got.push(...keysOf(reader));
  t.same(got, Array.from({ length: 75 }, (_, i) => 10 + i), 'every later record once, in order');

  const queuing = new FrameSender(new RingWriter(createRing(64 * 1024)), 1024);
  fill(queuing, 0, 3);
  queuing.seal(() => {});
  t.equal(queuing.written, 0, 'a queuing sender writes nothing at the seal');
  t.equal(queuing.queued, 1, 'it queues the frame for push()');
});
