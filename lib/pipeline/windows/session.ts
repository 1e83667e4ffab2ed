import type { WindowSpec } from './window.js';

/**
 * Per-key activity windows: each event opens [t, t+gap), and windows of one key that overlap or touch
 * merge (Flink's TimeWindow.intersects is inclusive at both ends).
 */
export function session(gapMs: number): WindowSpec {
  return { type: 'session', gap: gapMs };
}

export function sessionsTouch(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  return aStart <= bEnd && bStart <= aEnd;
}
