import type { AggregateSet } from '../../pipeline/aggregates/aggregate-set.js';
import { stateKeyOf, type StateKey } from '../../shared/keygroups.js';
import type { Snapshotted } from '../../shared/codec/state-writer.js';
import type { StateCodec, StateStore, StoreFactory } from '../state/state-store.js';
import type { Operator, OperatorOutput } from './operator.js';
import { WindowEmitter } from './window-emitter.js';
import { WindowTimers, type WindowTimer } from './window-timers.js';

/**
 * What every event-time window operator does once an event is in its windows, as Flink's WindowOperator:
 * the watermark and the windows' timers, firing and cleanup, a key-group's snapshot and restore, and
 * queries. A subclass assigns events to windows (`onEvent`) and says how a key holds its windows: `K` is
 * one key's windows in the store, `D` the same as plain data (its codec's), a snapshot being a list of `D`.
 */
export abstract class WindowOperator<K extends { key: unknown } & Snapshotted, D> implements Operator<D[]> {
  protected readonly store: StateStore<K>;
  protected readonly timers: WindowTimers;
  protected readonly emitter: WindowEmitter;
  /**
   * The next window's timer id. Ids grow with creation, and timers due at the same time fire in
   * registration order, which decides output numbering; restore re-registers in id order to keep it.
   */
  protected timerIds = 0;

  constructor(private readonly codec: StateCodec<K, D>, lateness: number, protected readonly aggregates: AggregateSet,
              protected readonly out: OperatorOutput, stores: StoreFactory) {
    this.store = stores(codec);
    this.emitter = new WindowEmitter(aggregates, out);
    this.timers = new WindowTimers(lateness, this.fire);
  }

  abstract onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void;

  /** The key's windows, oldest first. */
  protected abstract windowsOf(state: K): KeyWindow[];

  /** The accumulator of the key's window [start, end), or undefined if it has none (any more). */
  protected abstract accOf(state: K, start: number, end: number): unknown[] | undefined;

  /** Drop the key's window [start, end); returns whether the key has no windows left. */
  protected abstract drop(state: K, start: number, end: number): boolean;

  /**
   * How every event starts: advance to the watermark before it, and extract its aggregates' inputs.
   * False if the event is bad (reported to the errors output).
   */
  protected admit(kg: number, key: unknown, wm: number, src: number, pos: number, event: unknown): boolean {
    this.timers.advanceWatermark(wm);
    const problem = this.aggregates.extract(event);
    if (problem === null) return true;
    this.out.problem(this.emitter.extractProblem(problem, key, event), kg, src, pos);
    return false;
  }

  advanceWatermark(wm: number): void {
    this.timers.advanceWatermark(wm);
  }

  /** Timers follow from the windows, so a snapshot is the keys' windows alone. */
  beginSnapshot(): void {}

  /** Each key's windows through the codec (see StateStore.snapshot). */
  snapshotGroup(kg: number): unknown[] | undefined {
    const keys = this.store.snapshot(kg, (s) => this.codec.encode(s), true);
    return keys.length > 0 ? keys : undefined;
  }

  /** Each key's windows into the store, then their timers re-registered in id order (see `timerIds`). */
  restore(kg: number, data: D[]): void {
    const restored: Array<[StateKey, KeyWindow]> = [];
    for (const d of data) {
      const state = this.codec.decode(d);
      const sk = stateKeyOf(state.key);
      this.store.set(kg, sk, state);
      for (const w of this.windowsOf(state)) restored.push([sk, w]);
    }
    for (const [sk, w] of restored.sort((a, b) => a[1].id - b[1].id)) {
      this.timers.schedule(w.id, kg, sk, w.start, w.end);
      if (w.id >= this.timerIds) this.timerIds = w.id + 1;
    }
  }

  restoreWatermark(wm: number): void {
    this.timers.watermark = wm;
  }

  /** The key's open windows with their results so far, oldest first. */
  query(kg: number, sk: StateKey): { key: unknown; windows: Array<Record<string, unknown>> } | undefined {
    const state = this.store.get(kg, sk);
    if (state === undefined) return undefined;
    return { key: state.key, windows: this.windowsOf(state).map((w) => this.emitter.peek(w.start, w.end, w.acc)) };
  }

  private readonly fire = (_time: number, t: WindowTimer): void => {
    const state = this.store.get(t.kg, t.sk);
    if (state === undefined) return;
    const acc = this.accOf(state, t.start, t.end);
    if (acc === undefined) return;
    this.out.touch(t.kg);
    if (t.fire) this.emitter.emit(state.key, t.kg, t.start, t.end, acc);
    if (t.cleanup && this.drop(state, t.start, t.end)) this.store.delete(t.kg, t.sk);
  };
}

/** One of a key's windows: its timers' id, its bounds and its accumulator. */
export interface KeyWindow {
  id: number;
  start: number;
  end: number;
  acc: unknown[];
}
