import type { AggregateSet } from '../../pipeline/aggregates/aggregate-set.js';
import type { StateKey } from '../../shared/keygroups.js';
import { SelfWriting, type Snapshotted, type StateOut } from '../../shared/codec/state-writer.js';
import type { StateCodec, StoreFactory } from '../state/state-store.js';
import { sessionsTouch } from '../../pipeline/windows/session.js';
import type { WindowBounds } from '../../pipeline/windows/bounded.js';
import type { MergingWindowSpec } from '../../pipeline/windows/window.js';
import { codes, describeThrown } from '../../shared/errors.js';
import type { OperatorOutput } from './operator.js';
import { WindowOperator, type KeyWindow } from './window-operator.js';

interface Session {
  start: number;
  end: number;
  acc: unknown[];
  /** Identifies this session's timers, so they can be deleted when it merges. */
  timerId: number;
}

interface KeySessions extends Snapshotted {
  key: unknown;
  /** Disjoint (sessions do not even touch), sorted by start. */
  sessions: Session[];
}

/** A key's sessions object: always made here, with the same fields. */
function keySessions(key: unknown, sessions: Session[]): KeySessions {
  return { key, sessions, snap: undefined };
}

/** A key's sessions in a snapshot (and in LMDB). */
type SessionsData = [key: unknown, sessions: Array<[start: number, end: number, acc: unknown[], timerId: number]>];

/** A key's sessions written as its SessionsData, read in place (see SelfWriting). */
class WrittenSessions extends SelfWriting {
  constructor(private readonly s: KeySessions) {
    super();
  }

  writeTo(out: StateOut): void {
    out.arrayHeader(2);
    out.value(this.s.key);
    writeSessions(out, this.s.sessions);
  }
}

function writeSessions(out: StateOut, sessions: Session[]): void {
  out.arrayHeader(sessions.length);
  for (const { start, end, acc, timerId } of sessions) {
    out.arrayHeader(4);
    out.value(start);
    out.value(end);
    out.value(acc);
    out.value(timerId);
  }
}

const codec: StateCodec<KeySessions, SessionsData> = {
  encode: (s) => new WrittenSessions(s),
  decode: ([key, list]) => keySessions(key, list.map(([start, end, acc, timerId]) => ({ start, end, acc, timerId }))),
};

/**
 * Windows that merge per key: session windows (an event at t opens [t, t+gap)) and windows whose bounds the
 * events give (bounded()). An event's window merges with every window of its key it touches (a session) or
 * overlaps (a bounded window), and their accumulators merge. Firing, lateness and cleanup follow the aligned
 * windows; lateness is judged on the merged window, as Flink's MergingWindowSet does.
 */
export class MergingWindowOperator extends WindowOperator<KeySessions, SessionsData> {
  constructor(private readonly spec: MergingWindowSpec, lateness: number, aggregates: AggregateSet, out: OperatorOutput, stores: StoreFactory) {
    super(codec, lateness, aggregates, out, stores);
  }

  override onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void {
    if (!this.admit(kg, key, wm, src, pos, event)) return;
    const bounds = this.boundsOf(ts, event);
    if (typeof bounds === 'string') {
      this.out.problem({ code: codes.BAD_TIME, stage: 'window', detail: bounds, key, event }, kg, src, pos);
      return;
    }
    let [start, end] = bounds;
    const state = this.store.get(kg, sk);
    const sessions = state?.sessions ?? [];
    // The common case: the key's one window holds the event's, so nothing merges or moves (all of an
    // auction's bids in its bounded() window; an event inside its key's session). What the loops below give
    // then; that window is not closed (admit() has fired its cleanup if it was).
    const only = sessions.length === 1 ? sessions[0] : undefined;
    if (only !== undefined && only.start <= start && end <= only.end && this.merges(only.start, only.end, start, end)) {
      try {
        this.aggregates.addAll([only.acc], seq);
      } catch (err) {
        return this.out.problem(this.emitter.addThrew(err, key, event), kg, src, pos);
      }
      if (this.timers.isDue(only.end)) this.emitter.emit(state!.key, kg, only.start, only.end, only.acc);
      return;
    }
    const touched: Session[] = [];
    for (const s of sessions) {
      if (this.merges(s.start, s.end, start, end)) touched.push(s);
    }
    for (const s of touched) {
      if (s.start < start) start = s.start;
      if (s.end > end) end = s.end;
    }
    if (this.timers.isClosed(end)) {
      this.out.late(kg, event);
      return;
    }
    let acc: unknown[];
    try {
      acc = touched.length === 0 ? this.aggregates.create() : touched.reduce<unknown[] | null>((a, s) => (a === null ? s.acc : this.aggregates.merge(a, s.acc)), null)!;
      this.aggregates.addAll([acc], seq);
    } catch (err) {
      this.out.problem(this.emitter.addThrew(err, key, event), kg, src, pos);
      return;
    }
    const unchanged = touched.length === 1 && touched[0].start === start && touched[0].end === end;
    if (unchanged) {
      touched[0].acc = acc;
    } else {
      for (const s of touched) this.timers.unschedule(s.timerId, kg, s.end);
      const merged: Session = { start, end, acc, timerId: this.timerIds++ };
      const kept = sessions.filter((s) => !touched.includes(s));
      let i = 0;
      while (i < kept.length && kept[i].start < start) i++;
      kept.splice(i, 0, merged);
      if (state === undefined) this.store.set(kg, sk, keySessions(key, kept));
      else state.sessions = kept;
      this.timers.schedule(merged.timerId, kg, sk, start, end);
    }
    if (this.timers.isDue(end)) this.emitter.emit(state?.key ?? key, kg, start, end, acc);
  }

  /** Whether two windows of a key merge: sessions that touch (as Flink's), bounded windows that overlap. */
  private merges(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
    return this.spec.type === 'session' ? sessionsTouch(aStart, aEnd, bStart, bEnd) : aStart < bEnd && bStart < aEnd;
  }

  /** The event's own window, before it merges; or what is wrong with the bounds it gives. */
  private boundsOf(ts: number, event: unknown): WindowBounds | string {
    if (this.spec.type === 'session') return [ts, ts + this.spec.gap];
    let bounds: WindowBounds;
    try {
      bounds = this.spec.bounds(event);
    } catch (err) {
      return `bounded() threw: ${describeThrown(err)}`;
    }
    if (!Array.isArray(bounds) || bounds.length !== 2) return `bounded() must give [start, end], got ${String(bounds)}`;
    const [start, end] = bounds as [unknown, unknown];
    if (typeof start !== 'number' || typeof end !== 'number' || !Number.isFinite(start) || !Number.isFinite(end) || !(start < end)) {
      return `bounded() must give finite numbers with start < end, got [${String(start)}, ${String(end)}]`;
    }
    return [start, end];
  }

  protected override windowsOf(state: KeySessions): KeyWindow[] {
    return state.sessions.map((s) => ({ id: s.timerId, start: s.start, end: s.end, acc: s.acc }));
  }

  protected override accOf(state: KeySessions, start: number, end: number): unknown[] | undefined {
    return state.sessions.find((s) => s.start === start && s.end === end)?.acc;
  }

  protected override drop(state: KeySessions, start: number, end: number): boolean {
    state.sessions.splice(state.sessions.findIndex((s) => s.start === start && s.end === end), 1);
    return state.sessions.length === 0;
  }
}
