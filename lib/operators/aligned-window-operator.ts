import type { AggregateSet } from '../aggregates/aggregate-set.js';
import type { StateKey } from '../keygroups.js';
import { groupData, type StateCodec, type StateStore, type StoreFactory } from '../state/state-store.js';
import { alignDown, type WindowSpec } from '../windows/window.js';
import type { Operator, OperatorOutput } from './operator.js';
import { WindowEmitter } from './window-emitter.js';
import { WindowTimers, restoreWindows, type WindowTimer } from './window-timers.js';

interface KeyWindows {
  key: unknown;
  /** window start → accumulator */
  windows: Map<number, unknown[]>;
  /**
   * window start → its timers' id. Ids grow with registration, and timers due at the same time fire in
   * registration order, which decides output numbering; restore re-registers in id order to keep it.
   */
  ids: Map<number, number>;
}

type WindowsData = [key: unknown, windows: Array<[start: number, acc: unknown[], timerId: number]>];

const codec: StateCodec<KeyWindows> = {
  encode: (s): WindowsData => [s.key, [...s.windows].map(([start, acc]) => [start, acc, s.ids.get(start)!])],
  decode: (data) => {
    const [key, windows] = data as WindowsData;
    return { key, windows: new Map(windows.map(([start, acc]) => [start, acc])), ids: new Map(windows.map(([start, , id]) => [start, id])) };
  },
};

/**
 * Tumbling and sliding event-time windows with Flink's semantics: a window [start, end) fires when the
 * watermark reaches end - 1, stays updatable (re-firing per late event) until end - 1 + lateness, and
 * is then dropped; an event all of whose windows are past that goes to the late output.
 */
export class AlignedWindowOperator implements Operator {
  private readonly store: StateStore<KeyWindows>;
  private readonly timers: WindowTimers;
  private readonly emitter: WindowEmitter;
  private readonly size: number;
  private readonly slide: number;
  private timerIds = 0;
  private readonly accs: unknown[][] = [];
  private readonly starts: number[] = [];

  constructor(spec: WindowSpec, lateness: number, private readonly aggregates: AggregateSet,
              private readonly out: OperatorOutput, stores: StoreFactory) {
    if (spec.type === 'session') throw new Error('AlignedWindowOperator takes tumbling or sliding windows');
    this.size = spec.size;
    this.slide = spec.type === 'sliding' ? spec.slide : spec.size;
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
    const { size, slide, timers } = this;
    const starts = this.starts;
    starts.length = 0;
    for (let start = alignDown(ts, slide); start > ts - size; start -= slide) {
      if (!timers.isClosed(start + size)) starts.push(start);
    }
    if (starts.length === 0) {
      this.out.late(kg, event);
      return;
    }
    let state = this.store.get(kg, sk);
    if (state === undefined) this.store.set(kg, sk, (state = { key, windows: new Map(), ids: new Map() }));
    const accs = this.accs;
    accs.length = 0;
    for (const start of starts) accs.push(state.windows.get(start) ?? this.aggregates.create());
    try {
      this.aggregates.addAll(accs, seq);
    } catch (err) {
      if (state.windows.size === 0) this.store.delete(kg, sk);
      this.out.problem(this.emitter.addThrew(err, key, event), kg, src, pos);
      return;
    }
    for (let i = 0; i < starts.length; i++) {
      const start = starts[i];
      const end = start + size;
      if (!state.windows.has(start)) {
        const id = this.timerIds++;
        state.windows.set(start, accs[i]);
        state.ids.set(start, id);
        timers.schedule(id, kg, sk, start, end);
      }
      // Already fired but within the allowed lateness: fire again with the updated result.
      if (timers.isDue(end)) this.emitter.emit(state.key, kg, start, end, accs[i]);
    }
  }

  advanceWatermark(wm: number): void {
    this.timers.advanceWatermark(wm);
  }

  /** Per key-group: [key, [[windowStart, accumulator, timerId], …]] for each key. Timers follow from the windows. */
  beginSnapshot(): void {}

  snapshotGroup(kg: number): unknown {
    return groupData(this.store, kg, codec);
  }

  restore(kg: number, state: unknown): void {
    const windowsOf = (s: KeyWindows) => [...s.ids].map(([start, id]) => ({ id, start, end: start + this.size }));
    this.timerIds = Math.max(this.timerIds, restoreWindows(kg, state as WindowsData[], codec, this.store, windowsOf, this.timers));
  }

  restoreWatermark(wm: number): void {
    this.timers.watermark = wm;
  }

  /** The key's open windows with their results so far, oldest first. */
  query(kg: number, sk: StateKey): unknown {
    const state = this.store.get(kg, sk);
    if (state === undefined) return undefined;
    const windows = [...state.windows].sort((a, b) => a[0] - b[0]).map(([start, acc]) => this.emitter.peek(start, start + this.size, acc));
    return { key: state.key, windows };
  }

  private readonly fire = (t: WindowTimer): void => {
    const state = this.store.get(t.kg, t.sk);
    const acc = state?.windows.get(t.start);
    if (state === undefined || acc === undefined) return;
    this.out.touch(t.kg);
    if (t.fire) this.emitter.emit(state.key, t.kg, t.start, t.end, acc);
    if (t.cleanup) {
      state.windows.delete(t.start);
      state.ids.delete(t.start);
      if (state.windows.size === 0) this.store.delete(t.kg, t.sk);
    }
  };
}
