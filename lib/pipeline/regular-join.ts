import { KEPT, LEFT, keep, stored, type JoinedPair, type JoinInput } from './join-input.js';
import { withExpiryTimers, type ProcessFunction } from './process-function.js';

export interface RegularJoinOptions<L, R, Out> {
  /** How long an event is kept to be joined: until the watermark reaches its time + ttlMs. */
  ttlMs: number;
  /** What a joined pair emits (default `{ key, left, right }`). */
  select?: (left: L, right: R, key: unknown) => Out;
}

/**
 * Flink's regular join with a state TTL, as a process function on the joined stream (see Pipeline.join):
 * each event is kept by its time until the watermark reaches time + ttlMs, and joins every event of the
 * other input its key keeps at that moment (in arrival order of their times). Kept events are checked
 * against the watermark when joined, not only dropped by timers, since a timer at or before the watermark
 * fires only when the watermark next moves: whether two events join depends on the watermark in band only.
 * It emits JoinedPairs; its timers only drop state.
 */
export function regularJoinFunction(ttlMs: number): ProcessFunction<JoinInput, JoinedPair> {
  return withExpiryTimers({
    onEvent([side, event], ctx) {
      const t = ctx.timestamp;
      for (const [s, others] of stored(ctx.map<number, unknown[]>(KEPT[1 - side]))) {
        if (s + ttlMs <= ctx.watermark) continue;
        for (const other of others) ctx.emit(side === LEFT ? [event, other] : [other, event]);
      }
      if (t + ttlMs <= ctx.watermark) return;
      keep(ctx.map<number, unknown[]>(KEPT[side]), t, event);
      ctx.timers.registerEventTime(t + ttlMs);
    },
    onTimer(time, ctx) {
      // Each kept event goes when its own time is (the same expression as its timer's: times may be fractional).
      for (const name of KEPT) {
        const kept = ctx.map<number, unknown[]>(name);
        for (const t of stored(kept).keys()) if (t + ttlMs <= time) kept.delete(t);
      }
    },
  });
}
