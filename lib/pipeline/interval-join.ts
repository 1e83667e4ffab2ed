import { KEPT, LEFT, LateInput, RIGHT, keep, stored, type JoinedPair, type JoinInput } from './join-input.js';
import { withExpiryTimers, type ProcessFunction } from './process-function.js';

export interface IntervalJoinOptions<L, R, Out> {
  /** A right event at time s joins a left event at time t when t + lowerMs <= s <= t + upperMs. */
  lowerMs: number;
  upperMs: number;
  /** What a joined pair emits (default `{ key, left, right }`). */
  select?: (left: L, right: R, key: unknown) => Out;
}

/**
 * Kept events go at timers rounded up to a whole span: a key's events of one span share a timer (a busy key
 * would otherwise have one per millisecond), and state is kept at most a span longer. When an event goes
 * changes nothing else: once the watermark is past its drop time, no event on time is in its interval.
 */
const CLEANUP_MS = 1_000;
const SIDES = [LEFT, RIGHT] as const;

/**
 * Flink's interval join as a process function on the joined stream (see Pipeline.intervalJoin): each event
 * is kept by its time and joined with the other input's kept events in its interval. An event older than
 * the watermark (Flink's isLate) is late, so once the watermark passes t + upperMs no right event can still
 * join a left event at t, nor a left event a right one at s once it passes s - lowerMs: a timer then drops
 * the kept event. The pairs are those of all on-time events. It emits JoinedPairs and LateInputs; its timers only drop state.
 */
export function intervalJoinFunction(lowerMs: number, upperMs: number): ProcessFunction<JoinInput, JoinedPair | LateInput> {
  /** When nothing can join a kept event any more; the same expression finds it due (times may be fractional). */
  const dropAt = (side: number, t: number) => (side === LEFT ? t + upperMs + 1 : t - lowerMs + 1);
  return withExpiryTimers({
    onEvent([side, event], ctx) {
      const t = ctx.timestamp;
      if (t < ctx.watermark) return ctx.emit(new LateInput(event));
      keep(ctx.map<number, unknown[]>(KEPT[side]), t, event);
      const from = side === LEFT ? t + lowerMs : t - upperMs;
      const to = side === LEFT ? t + upperMs : t - lowerMs;
      for (const [s, others] of stored(ctx.map<number, unknown[]>(KEPT[1 - side]))) {
        if (s < from || s > to) continue;
        for (const other of others) ctx.emit(side === LEFT ? [event, other] : [other, event]);
      }
      ctx.timers.registerEventTime(Math.ceil(dropAt(side, t) / CLEANUP_MS) * CLEANUP_MS);
    },
    onTimer(time, ctx) {
      for (const side of SIDES) {
        const kept = ctx.map<number, unknown[]>(KEPT[side]);
        const byTime = stored(kept);
        let due = 0;
        for (const t of byTime.keys()) if (dropAt(side, t) <= time) due++;
        // All of them (a key's bids of the second before, often): the whole map at once, not entry by entry.
        if (due === byTime.size) kept.clear();
        else if (due > 0) for (const t of byTime.keys()) if (dropAt(side, t) <= time) kept.delete(t);
      }
    },
  });
}
