import type { WindowBounds } from './bounded.js';

/** A window assigner as written in a pipeline: `tumbling(size)`, `sliding(size, slide)`, `session(gap)`, `bounded(fn)`. */
export type WindowSpec =
  | { readonly type: 'tumbling'; readonly size: number }
  | { readonly type: 'sliding'; readonly size: number; readonly slide: number }
  | { readonly type: 'session'; readonly gap: number }
  | { readonly type: 'bounded'; readonly bounds: (event: unknown) => WindowBounds };

/** Window assigners with fixed windows, the same for every key. */
export type AlignedWindowSpec = Extract<WindowSpec, { type: 'tumbling' | 'sliding' }>;
/** Window assigners whose windows merge per key (sessions, and windows the events bound). */
export type MergingWindowSpec = Extract<WindowSpec, { type: 'session' | 'bounded' }>;
export const isMerging = (spec: WindowSpec): spec is MergingWindowSpec => spec.type === 'session' || spec.type === 'bounded';

export interface WindowOptions {
  /** How long after a window fires it still accepts late events (re-firing with the updated result). */
  allowedLatenessMs?: number;
}

/**
 * The largest multiple of `step` (a positive integer) at or below `t`: the start of t's tumbling window,
 * or of the latest sliding window holding t. Exact for any finite time, fractional ones included:
 * `t - t % step` would leave a rounding residue (12.7 → -3.55e-15) and split one window into two. The
 * division may round across an integer, so the result is checked against t; `+ 0` turns -0 into 0.
 */
export function alignDown(t: number, step: number): number {
  const start = Math.floor(t / step) * step + 0;
  if (start > t) return start - step;
  return start + step <= t ? start + step : start;
}

/** A window's result as it reaches the user: the key, the bounds, and the named aggregates. */
export type WindowResult<R> = { key: unknown; windowStart: number; windowEnd: number } & R;

function positive(what: string, value: number): string | null {
  return Number.isFinite(value) && value > 0 && Number.isInteger(value) ? null : `${what} must be a positive integer number of milliseconds, got ${value}`;
}

/** Why the spec is invalid, or null. Checked by start(), so a bad window fails the engine's start. */
export function windowSpecProblem(spec: WindowSpec): string | null {
  switch (spec.type) {
    case 'tumbling': return positive('tumbling() size', spec.size);
    case 'sliding':
      return positive('sliding() size', spec.size) ?? positive('sliding() slide', spec.slide)
        ?? (spec.slide > spec.size ? `sliding() slide (${spec.slide}) must not exceed its size (${spec.size})` : null);
    case 'session': return positive('session() gap', spec.gap);
    case 'bounded': return typeof spec.bounds === 'function' ? null : 'bounded() needs a function that gives an event\'s window as [start, end]';
    default: return `unknown window ${JSON.stringify(spec)}: use tumbling(), sliding(), session() or bounded()`;
  }
}
