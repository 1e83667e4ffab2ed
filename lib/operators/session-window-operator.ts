import type { AggregateSet } from '../aggregates/aggregate-set.js';
import type { StateKey } from '../keygroups.js';
import { groupData, type StateCodec, type StateStore, type StoreFactory } from '../state/state-store.js';
import { sessionsTouch } from '../windows/session.js';
import type { Operator, OperatorOutput } from './operator.js';
import { WindowEmitter } from './window-emitter.js';
import { WindowTimers, restoreWindows, type WindowTimer } from './window-timers.js';

interface Session {
  start: number;
  end: number;
  acc: unknown[];
  /** Identifies this session's timers, so they can be deleted when it merges. */
  timerId: number;
}

interface KeySessions {
  key: unknown;
  /** Disjoint, non-touching, sorted by start. */
  sessions: Session[];
}

type SessionsData = [key: unknown, sessions: Array<[start: number, end: number, acc: unknown[], timerId: number]>];

const codec: StateCodec<KeySessions> = {
  encode: (s): SessionsData => [s.key, s.sessions.map((x) => [x.start, x.end, x.acc, x.timerId])],
  decode: (data) => {
    const [key, list] = data as SessionsData;
    return { key, sessions: list.map(([start, end, acc, timerId]) => ({ start, end, acc, timerId })) };
  },
};

/**
 * Session windows: an event at t opens [t, t+gap); it merges with every session of its key it touches
 * (accumulators merge). Firing, lateness and cleanup follow the aligned windows; lateness is judged on
 * the merged window, as Flink's MergingWindowSet does.
 */
export class SessionWindowOperator implements Operator {
  private readonly store: StateStore<KeySessions>;
  private readonly timers: WindowTimers;
  private readonly emitter: WindowEmitter;
  private timerIds = 0;

  constructor(private readonly gap: number, lateness: number, private readonly aggregates: AggregateSet,
              private readonly out: OperatorOutput, stores: StoreFactory) {
    this.store = stores(codec);
    this.emitter = new WindowEmitter(aggregates, out);
    this.timers = new WindowTimers(lateness, this.fire);
  }

  onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void {
    this.advanceWatermark(wm);
    const problem = this.aggregates.extract(event);
    if (problem !== null) {
      this.out.problem(this.emitter.extractProblem(problem, key, event), kg, src, pos);
      return;
    }
    const state = this.store.get(kg, sk);
    const sessions = state?.sessions ?? [];
    let start = ts;
    let end = ts + this.gap;
    const touched: Session[] = [];
    for (const s of sessions) {
      if (sessionsTouch(s.start, s.end, start, end)) touched.push(s);
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
      if (state === undefined) this.store.set(kg, sk, { key, sessions: kept });
      else state.sessions = kept;
      this.timers.schedule(merged.timerId, kg, sk, start, end);
    }
    if (this.timers.isDue(end)) this.emitter.emit(state?.key ?? key, kg, start, end, acc);
  }

  advanceWatermark(wm: number): void {
    this.timers.advanceWatermark(wm);
  }

  /** Per key-group: [key, [[start, end, accumulator, timerId], …]] for each key. Timers follow from the sessions. */
  beginSnapshot(): void {}

  snapshotGroup(kg: number): unknown {
    return groupData(this.store, kg, codec);
  }

  restore(kg: number, state: unknown): void {
    const windowsOf = (s: KeySessions) => s.sessions.map((x) => ({ id: x.timerId, start: x.start, end: x.end }));
    this.timerIds = Math.max(this.timerIds, restoreWindows(kg, state as SessionsData[], codec, this.store, windowsOf, this.timers));
  }

  restoreWatermark(wm: number): void {
    this.timers.watermark = wm;
  }

  /** The key's open sessions with their results so far, oldest first. */
  query(kg: number, sk: StateKey): unknown {
    const state = this.store.get(kg, sk);
    if (state === undefined) return undefined;
    return { key: state.key, windows: state.sessions.map((s) => this.emitter.peek(s.start, s.end, s.acc)) };
  }

  private readonly fire = (t: WindowTimer): void => {
    const state = this.store.get(t.kg, t.sk);
    if (state === undefined) return;
    const i = state.sessions.findIndex((s) => s.start === t.start && s.end === t.end);
    if (i < 0) return;
    this.out.touch(t.kg);
    const s = state.sessions[i];
    if (t.fire) this.emitter.emit(state.key, t.kg, s.start, s.end, s.acc);
    if (t.cleanup) {
      state.sessions.splice(i, 1);
      if (state.sessions.length === 0) this.store.delete(t.kg, t.sk);
    }
  };
}
