import { KEPT, LateInput, stored, type JoinedPair, type JoinInput } from './join-input.js';
import type { ProcessContext, ProcessFunction } from './process-function.js';
import { alignDown, type AlignedWindowSpec } from './windows/window.js';

/** The window a joined pair shares, as its select() sees it. */
export interface JoinWindow {
  key: unknown;
  windowStart: number;
  windowEnd: number;
}

export interface WindowJoinOptions<L, R, Out> {
  /** What a joined pair emits (default `{ key, windowStart, windowEnd, left, right }`). */
  select?: (left: L, right: R, window: JoinWindow) => Out;
}

/** A kept event: its time and itself. */
export type Kept = [time: number, event: unknown];

/**
 * A window of a window join fires: emit every pair of a left and a right event kept with a time in
 * [start, end), left events in arrival order, each with the right ones in arrival order; then drop the kept
 * events that `done` says no later window needs.
 */
export function fireWindow(ctx: ProcessContext<JoinedPair | LateInput>, start: number, end: number, done: (time: number) => boolean): void {
  const inWindow = (kept: Kept) => kept[0] >= start && kept[0] < end;
  const lefts = ctx.list<Kept>(KEPT[0]);
  const rights = ctx.list<Kept>(KEPT[1]);
  const right = stored(rights).filter(inWindow);
  for (const kept of stored(lefts)) if (inWindow(kept)) for (const [, r] of right) ctx.emit([kept[1], r, start, end]);
  for (const list of [lefts, rights]) {
    const kept = stored(list);
    let due = 0;
    for (const [t] of kept) if (done(t)) due++;
    if (due === 0) continue;
    const rest = due === kept.length ? [] : kept.filter((k) => !done(k[0]));
    list.clear();
    for (const k of rest) list.add(k);
  }
}

/**
 * Flink's window join (`a.join(b).where(…).equalTo(…).window(…)`) on tumbling or sliding windows (sessions:
 * session-join.ts), as a process function on the joined stream (see Pipeline.windowJoin): each input's
 * events of a key are kept with their times; when a window fires (the watermark reaches its end − 1)
 * every pair of a left and a right event in it is emitted, left events in arrival order, each with the
 * right ones in arrival order. An event joins the windows that had not fired when it came; one whose
 * windows all had is late. An event is dropped once the last window holding it has fired. It emits
 * JoinedPairs and LateInputs.
 */
export function windowJoinFunction(spec: AlignedWindowSpec): ProcessFunction<JoinInput, JoinedPair | LateInput> {
  const size = spec.size;
  const slide = spec.type === 'sliding' ? spec.slide : spec.size;
  /** The end − 1 of the last window holding time t: when it fires, nothing more needs t. */
  const lastFiring = (t: number) => alignDown(t, slide) + size - 1;
  return {
    onEvent([side, event], ctx) {
      const t = ctx.timestamp;
      if (lastFiring(t) <= ctx.watermark) return ctx.emit(new LateInput(event));
      ctx.list<Kept>(KEPT[side]).add([t, event]);
      for (let start = alignDown(t, slide); start > t - size; start -= slide) {
        if (start + size - 1 > ctx.watermark) ctx.timers.registerEventTime(start + size - 1);
      }
    },
    onTimer(time, ctx) {
      const windowStart = time + 1 - size;
      fireWindow(ctx, windowStart, windowStart + size, (t) => lastFiring(t) <= time);
    },
  };
}
