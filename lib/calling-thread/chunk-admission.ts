/**
 * Taking a parallel source's chunk in (see pool-thread/route-chunk.ts): a pool thread built its frames
 * without knowing where in the input the chunk falls or what the watermark was when it starts, so each
 * event carries its line within the chunk and the largest event time before it in the chunk. Here, in
 * input order, each event gets its line in the input and the watermark it would have had if the calling
 * thread had routed the input itself, event by event: so the actors' results do not depend on how the
 * input was cut or on which pool thread took which chunk.
 *
 * For an event whose pipeline's source has shown `m` by then (the larger of what it had shown before the
 * chunk and the largest time before the event in it), the watermark is
 * max(watermark before the chunk, min(m, least largest of the other sources holding it back) − outOfOrderMs − 1),
 * which is what SourceWatermarks.current() gives event by event (the source is not idle while it sends).
 *
 * A pool thread that combined a window pane's events into one record (see window-combiner.ts) made sure
 * the part of that watermark it knows, from the largest time before each event, stays below the pane's
 * earliest window end − 1; `combiningHolds` checks the part only known here.
 */
import { frameColumns } from '../shared/codec/frame.js';
import { Kind } from '../shared/codec/records.js';
import type { WatermarkBasis } from '../shared/router.js';

/** Rewrite one frame's event positions (`firstLine - 1` added) and watermarks, in place. */
export function stampChunkFrame(frame: Uint8Array, basis: readonly WatermarkBasis[], lineOffset: number): void {
  const { count, kind, pipe, wm, pos } = frameColumns(frame);
  for (let i = 0; i < count; i++) {
    if (kind[i] !== Kind.EVENT && kind[i] !== Kind.PARTIAL) continue;
    pos[i] += lineOffset;
    const b = basis[pipe[i]];
    if (b === null) continue;
    const shown = wm[i] > b.largest ? wm[i] : b.largest;
    const held = shown < b.others ? shown : b.others;
    const w = held - b.outOfOrderMs - 1;
    wm[i] = w > b.watermark ? w : b.watermark;
  }
}

/**
 * Whether the window panes a chunk combined are exact (see window-combiner.ts): no event of the chunk can
 * get a watermark, from what came before the chunk, that fires a combined pane's window. When they are not
 * (the chunk holds events late enough to be late or re-fire a window), the chunk is routed again, event by event.
 */
export function combiningHolds(due: readonly number[], basis: readonly WatermarkBasis[], actorsAt: readonly number[]): boolean {
  return due.every((d, pipe) => {
    const b = basis[pipe];
    if (d === Infinity || b === null) return true;
    // Where an actor already is after recovery counts too (see Router.recoveredTo).
    const before = Math.max(b.watermark, Math.min(b.largest, b.others) - b.outOfOrderMs - 1, actorsAt[pipe] ?? -Infinity);
    return before < d;
  });
}
