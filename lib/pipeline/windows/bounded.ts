import type { WindowSpec } from './window.js';

/** A window's bounds as an event gives them: [start, end), end exclusive, in event-time milliseconds. */
export type WindowBounds = readonly [start: number, end: number];

/**
 * Windows whose bounds each event gives: `bounds(event)` is its window [start, end). A key's windows that
 * overlap merge, as session windows do (which merge when they touch too: [0, 10) and [10, 20) are two
 * bounded windows); a window fires when the watermark passes its end − 1. This is what Beam's Nexmark writes as a custom WindowFn for auctions:
 * every bid on an auction falls in the auction's life, [opened, expires + 1), which closes when it expires.
 * An event whose bounds are not two finite numbers with start < end is a dead letter (stage `window`).
 */
export function bounded<E>(bounds: (event: E) => WindowBounds): WindowSpec {
  return { type: 'bounded', bounds: bounds as (event: unknown) => WindowBounds };
}
