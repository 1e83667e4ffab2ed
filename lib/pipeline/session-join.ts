import { KEPT, LateInput, type JoinedPair, type JoinInput } from './join-input.js';
import { fireWindow, type Kept } from './window-join.js';
import type { ProcessFunction } from './process-function.js';

/** A key's open session: [start, end). */
type Session = [start: number, end: number];

const SESSIONS = 'sessions';

/**
 * A window join on session windows (Flink's window join with EventTimeSessionWindows), as a process
 * function on the joined stream (see Pipeline.windowJoin): each event opens [t, t + gap) for its key,
 * merging with the key's sessions it overlaps or touches, as session windows do over both inputs; when a
 * session fires (the watermark reaches its end − 1) every pair of a left and a right event in it is
 * emitted. An event whose session would already have fired is late: it is emitted as a LateInput.
 */
export function sessionJoinFunction(gap: number): ProcessFunction<JoinInput, JoinedPair | LateInput> {
  return {
    onEvent([side, event], ctx) {
      const t = ctx.timestamp;
      const state = ctx.value<Session[]>(SESSIONS);
      const sessions = state.get() ?? [];
      let start = t;
      let end = t + gap;
      const touching = sessions.filter(([s, e]) => s <= end && start <= e);
      for (const [s, e] of touching) {
        start = Math.min(start, s);
        end = Math.max(end, e);
      }
      if (end - 1 <= ctx.watermark) return ctx.emit(new LateInput(event));
      for (const [, e] of touching) ctx.timers.deleteEventTime(e - 1);
      state.set([...sessions.filter((s) => !touching.includes(s)), [start, end]]);
      ctx.timers.registerEventTime(end - 1);
      ctx.list<Kept>(KEPT[side]).add([t, event]);
    },
    onTimer(time, ctx) {
      const state = ctx.value<Session[]>(SESSIONS);
      const sessions = state.get() ?? [];
      const session = sessions.find(([, end]) => end - 1 === time);
      if (session === undefined) return;
      const [start, end] = session;
      fireWindow(ctx, start, end, (t) => t >= start && t < end);
      const open = sessions.filter((s) => s !== session);
      if (open.length === 0) state.clear();
      else state.set(open);
    },
  };
}
