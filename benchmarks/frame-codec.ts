/**
 * The cost of a frame per Nexmark bid, the target being encoding plus decoding under 150 ns: a
 * FrameBuilder filled with 1024 bid events as the router fills it (key: the auction, value: the bid, with its
 * key-group, event time, watermark and position), written as the engine writes a frame (into its ring slot: a
 * buffer reused from frame to frame); then FrameView decodes the frame and every record is read as bids per
 * auction reads it (key, event time, the bid's price). Nanoseconds per bid for each half
 * and for both, over frames cut from a stream of generated bids; medians of the runs.
 *
 * It runs in a process of its own (codecBenchAlone), as a micro-benchmark should: after the suite's
 * workloads have gone through the same encoder in the same process (every Nexmark shape, join pairs,
 * results), its code is compiled for all of them, and the same frames measured 155–158 ns a bid there
 * against 135–140 ns alone.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FrameBuilder, FrameView } from '../lib/shared/codec/frame.js';
import { DEFAULT_MAX_KEY_GROUPS, keyGroupOf } from '../lib/shared/keygroups.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { Bid } from '../lib/nexmark/model.js';
import { fmt, median } from './stats.js';

export const CODEC_TARGET_NS = 150;
const FRAME = 1024;
/** Distinct frames of bids, used in turn: the generator's variety, not one frame over and over. */
const DISTINCT = 64;
/** Frames encoded and decoded, untimed, before each run: a process of its own starts cold (with 20, a quick run's single run measured 300 ns and more). */
const WARMUP = 200;

export interface CodecReport {
  bidsPerFrame: number;
  frames: number;
  /** Mean size of an encoded frame. */
  frameBytes: number;
  /** Per run: ns per bid to fill the builder and encode; to decode and read; both. */
  encodeNs: number[];
  decodeNs: number[];
  totalNs: number[];
}

/** The bids of the first frames of a generated stream, with what the router stamps on each. */
function routedBids() {
  const bids = new NexmarkGenerator({ seed: 1 }).batch(Math.ceil((DISTINCT * FRAME * 50) / 46) + 50)
    .flatMap((e) => (e.kind === 'bid' ? [e.bid] : []))
    .slice(0, DISTINCT * FRAME);
  let maxTime = -Infinity;
  const wm = bids.map((b) => {
    const before = maxTime - 2_000 - 1;
    maxTime = Math.max(maxTime, b.dateTime);
    return before;
  });
  const kg = bids.map((b) => keyGroupOf(b.auction, DEFAULT_MAX_KEY_GROUPS));
  // What reading frame d must add up to, to check each decode.
  const sums = Array.from({ length: DISTINCT }, (_, d) => bids.slice(d * FRAME, (d + 1) * FRAME).reduce((s, b) => s + (b.auction + b.dateTime + b.price), 0));
  return { bids, wm, kg, sums };
}

export function codecBench(frames: number, runs: number): CodecReport {
  const { bids, wm, kg, sums } = routedBids();
  const builder = new FrameBuilder(FRAME);
  const view = new FrameView();
  const report: CodecReport = { bidsPerFrame: FRAME, frames, frameBytes: 0, encodeNs: [], decodeNs: [], totalNs: [] };
  let bytes = 0;
  let slot = new Uint8Array(0);
  for (let r = 0; r < runs; r++) {
    let encodeMs = 0;
    let decodeMs = 0;
    for (let f = -WARMUP; f < frames; f++) {
      const d = (f + WARMUP) % DISTINCT;
      const t0 = performance.now();
      for (let j = d * FRAME; j < (d + 1) * FRAME; j++) builder.event(0, 0, kg[j], bids[j].dateTime, wm[j], j, bids[j].auction, bids[j]);
      // As the engine writes a frame: into its ring slot, a buffer that holds older frames.
      const prepared = builder.prepare();
      if (slot.length < prepared.size) slot = new Uint8Array(new ArrayBuffer(prepared.size * 2));
      prepared.write(slot, 0);
      const frame = slot.subarray(0, prepared.size);
      builder.reset();
      const t1 = performance.now();
      const v = view.decode(frame);
      let sum = 0;
      for (let i = 0; i < v.count; i++) sum += (v.keys[i] as number) + v.ts[i] + (v.values[i] as Bid).price;
      const t2 = performance.now();
      if (sum !== sums[d]) throw new Error(`frame codec: frame ${d} decoded to other bids`);
      if (f < 0) continue;
      encodeMs += t1 - t0;
      decodeMs += t2 - t1;
      if (r === 0) bytes += frame.length;
    }
    const ns = (ms: number) => (ms * 1e6) / (frames * FRAME);
    report.encodeNs.push(ns(encodeMs));
    report.decodeNs.push(ns(decodeMs));
    report.totalNs.push(ns(encodeMs + decodeMs));
    process.stderr.write(`  frame codec: run ${r + 1}/${runs}: ${ns(encodeMs + decodeMs).toFixed(0)} ns per bid\n`);
  }
  report.frameBytes = bytes / frames;
  return report;
}

/** codecBench in a child process of its own (its progress on this process's stderr). */
export function codecBenchAlone(frames: number, runs: number): Promise<CodecReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(frames), String(runs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as CodecReport) : reject(new Error(`the frame codec benchmark exited with ${code}`))));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(codecBench(Number(process.argv[2]), Number(process.argv[3]))));
}

export function codecTable(r: CodecReport, runs: number): string {
  const total = median(r.totalNs);
  return [
    `Frame codec: frames of ${fmt(r.bidsPerFrame)} Nexmark bids as the router builds them (key: auction, value: the bid), encoded, then decoded with every key, event time and price read; ${fmt(r.frames)} frames per run (${fmt(r.frameBytes)} bytes each on average), in a process of its own, median of ${runs}:`,
    '',
    '| fill + encode | decode + read | both, per bid | target | met |',
    '|---|---|---|---|---|',
    `| ${median(r.encodeNs).toFixed(0)} ns | ${median(r.decodeNs).toFixed(0)} ns | ${total.toFixed(0)} ns | < ${CODEC_TARGET_NS} ns | ${total < CODEC_TARGET_NS ? 'yes' : 'no'} |`,
  ].join('\n');
}
