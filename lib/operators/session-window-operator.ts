import type { AggregateSet } from '../aggregates/aggregate-set.js';
import type { StateKey } from '../keygroups.js';
import { KeyedStore } from '../state/keyed-store.js';
import { TimerService } from '../state/timers.js';
import { sessionsTouch } from '../windows/session.js';
import type { Operator, OperatorOutput } from './operator.js';
import { WindowEmitter } from './window-firing.js';

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

interface SessionTimer {
  kg: number;
  sk: StateKey;
  start: number;
  end: number;
  fire: boolean;
  cleanup: boolean;
}

/**
 * Session windows: an event at t opens [t, t+gap); it merges with every session of its key it touches
 * (accumulators merge). Firing, lateness and cleanup follow the aligned windows; lateness is judged on
 * the merged window, as Flink's MergingWindowSet does.
 */
export class SessionWindowOperator implements Operator {
  private readonly store: KeyedStore<KeySessions>;
  private readonly timers = new TimerService<SessionTimer>();
  private readonly emitter: WindowEmitter;
  private wm = -Infinity;
  private timerIds = 0;

  constructor(private readonly gap: number, private readonly lateness: number, private readonly aggregates: AggregateSet,
              private readonly out: OperatorOutput, maxKeyGroups: number) {
    this.store = new KeyedStore(maxKeyGroups);
    this.emitter = new WindowEmitter(aggregates, out);
  }

  onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void {
    this.advance(wm);
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
    if (end - 1 + this.lateness <= this.wm) {
      this.out.late(event);
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
      for (const s of touched) this.unschedule(s);
      const merged: Session = { start, end, acc, timerId: this.timerIds++ };
      const kept = sessions.filter((s) => !touched.includes(s));
      let i = 0;
      while (i < kept.length && kept[i].start < start) i++;
      kept.splice(i, 0, merged);
      if (state === undefined) this.store.set(kg, sk, { key, sessions: kept });
      else state.sessions = kept;
      this.schedule(kg, sk, merged);
    }
    if (end - 1 <= this.wm) this.emitter.emit(state?.key ?? key, kg, start, end, acc);
  }

  advance(wm: number): void {
    if (wm <= this.wm) return;
    this.wm = wm;
    this.timers.advance(wm, this.fire);
  }

  private schedule(kg: number, sk: StateKey, s: Session): void {
    const fireAt = s.end - 1;
    const cleanupAt = s.end - 1 + this.lateness;
    const fire = fireAt > this.wm;
    const base = { kg, sk, start: s.start, end: s.end };
    if (fire && cleanupAt !== fireAt) this.timers.register(fireAt, s.timerId, { ...base, fire: true, cleanup: false });
    this.timers.register(cleanupAt, s.timerId, { ...base, fire: fire && cleanupAt === fireAt, cleanup: true });
  }

  private unschedule(s: Session): void {
    this.timers.delete(s.end - 1, s.timerId);
    this.timers.delete(s.end - 1 + this.lateness, s.timerId);
  }

  private readonly fire = (_time: number, t: SessionTimer): void => {
    const state = this.store.get(t.kg, t.sk);
    if (state === undefined) return;
    const i = state.sessions.findIndex((s) => s.start === t.start && s.end === t.end);
    if (i < 0) return;
    const s = state.sessions[i];
    if (t.fire) this.emitter.emit(state.key, t.kg, s.start, s.end, s.acc);
    if (t.cleanup) {
      state.sessions.splice(i, 1);
      if (state.sessions.length === 0) this.store.delete(t.kg, t.sk);
    }
  };
}
