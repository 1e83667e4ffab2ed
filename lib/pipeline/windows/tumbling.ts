import type { WindowSpec } from './window.js';

/** Fixed, non-overlapping windows [floor(t/size)*size, +size), as Flink's TumblingEventTimeWindows. */
export function tumbling(sizeMs: number): WindowSpec {
  return { type: 'tumbling', size: sizeMs };
}
