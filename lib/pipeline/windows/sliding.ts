import type { WindowSpec } from './window.js';

/**
 * Overlapping windows of `sizeMs` starting every `slideMs`: an event at t belongs to every [w, w+size)
 * with w a multiple of slide and w <= t < w+size, as Flink's SlidingEventTimeWindows.
 */
export function sliding(sizeMs: number, slideMs: number): WindowSpec {
  return { type: 'sliding', size: sizeMs, slide: slideMs };
}
