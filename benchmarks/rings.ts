/**
 * keyflow's hand-written SPSC ring against ringbuf.js (the SharedArrayBuffer ring on npm), side by side: one
 * producer thread and one consumer thread (ring-thread.ts says how each ring is used), rings of the size
 * the engine gives its rings, messages of 64 bytes, 1 KiB, 32 KiB and 128 KiB (a frame of 1024 Nexmark bids
 * is about 113 KB). Records/s and payload bytes/s from the start signal to the consumer's last message,
 * medians of the runs, the two rings alternating in order.
 *
 * ringbuf.js copies with TypedArray.set only when a copy starts at index 0 of the source and covers all of
 * it, else element by element in JavaScript: its push of a whole message takes the fast path, its pop from
 * the middle of the ring does not, which is most of its cost on large messages.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { DEFAULT_RING_BYTES, createRing } from '../lib/shared/ring/layout.js';
import type { RingImpl, RingSide } from './ring-thread.js';
import { fmt, median } from './stats.js';

const THREAD = new URL('./ring-thread.js', import.meta.url);
const SIZES = [64, 1024, 32 * 1024, 128 * 1024];

export interface RingRow { impl: RingImpl; size: number; records: number; recordsPerSecond: number[] }
export interface RingReport { ringBytes: number; bytesPerRun: number; rows: RingRow[] }

function newRing(impl: RingImpl): RingSide['ring'] {
  return impl === 'keyflow' ? createRing(DEFAULT_RING_BYTES) : RingBuffer.getStorageForCapacity(DEFAULT_RING_BYTES, Uint8Array);
}

/** One run: seconds from 'go' to the consumer's last message. */
async function transfer(impl: RingImpl, size: number, records: number): Promise<number> {
  const ring = newRing(impl);
  const sides = (['producer', 'consumer'] as const).map((role) => new Worker(THREAD, { workerData: { impl, role, ring, size, records } satisfies RingSide }));
  try {
    await Promise.all(sides.map((w) => once(w, 'message')));
    const done = sides.map((w) => Promise.race([once(w, 'message'), once(w, 'error').then(([err]) => Promise.reject(err as Error))]));
    const t0 = performance.now();
    for (const w of sides) w.postMessage('go');
    const [, t1] = await Promise.all([done[0], done[1].then(() => performance.now())]);
    return (t1 - t0) / 1000;
  } finally {
    await Promise.all(sides.map((w) => w.terminate()));
  }
}

export async function ringBench(bytesPerRun: number, runs: number): Promise<RingReport> {
  const rows: RingRow[] = [];
  for (const size of SIZES) {
    const records = Math.ceil(bytesPerRun / size);
    const measured: Record<RingImpl, RingRow> = {
      keyflow: { impl: 'keyflow', size, records, recordsPerSecond: [] },
      'ringbuf.js': { impl: 'ringbuf.js', size, records, recordsPerSecond: [] },
    };
    for (let r = 0; r < runs; r++) {
      const order: RingImpl[] = r % 2 === 0 ? ['keyflow', 'ringbuf.js'] : ['ringbuf.js', 'keyflow'];
      for (const impl of order) {
        const rate = records / (await transfer(impl, size, records));
        measured[impl].recordsPerSecond.push(rate);
        process.stderr.write(`  rings / ${impl}, ${fmt(size)} B messages: run ${r + 1}/${runs}: ${fmt(rate)} records/s\n`);
      }
    }
    rows.push(measured.keyflow, measured['ringbuf.js']);
  }
  return { ringBytes: DEFAULT_RING_BYTES, bytesPerRun, rows };
}

export function ringTable(r: RingReport, runs: number): string {
  const lines = [
    `Rings: keyflow's ring against ringbuf.js, one producer thread and one consumer thread, ${fmt(r.ringBytes / 2 ** 20)} MiB rings, ${fmt(r.bytesPerRun / 2 ** 20)} MiB of messages per run, median of ${runs}:`,
    '',
    '| message | keyflow records/s | keyflow MB/s | ringbuf.js records/s | ringbuf.js MB/s | keyflow vs ringbuf.js |',
    '|---|---|---|---|---|---|',
  ];
  for (const size of new Set(r.rows.map((row) => row.size))) {
    const rate = (impl: RingImpl) => median(r.rows.find((row) => row.size === size && row.impl === impl)!.recordsPerSecond);
    const k = rate('keyflow');
    const b = rate('ringbuf.js');
    lines.push(`| ${fmt(size)} B | ${fmt(k)} | ${fmt((k * size) / 1e6)} | ${fmt(b)} | ${fmt((b * size) / 1e6)} | ${(k / b).toFixed(2)}× |`);
  }
  return lines.join('\n');
}
