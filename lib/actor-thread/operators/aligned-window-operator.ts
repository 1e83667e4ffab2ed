import type { AggregateSet } from '../../pipeline/aggregates/aggregate-set.js';
import type { StateKey } from '../../shared/keygroups.js';
import type { PaneView } from '../../shared/codec/frame.js';
import type { StateCodec, StoreFactory } from '../state/state-store.js';
import { alignDown, type WindowSpec } from '../../pipeline/windows/window.js';
import type { OperatorOutput } from './operator.js';
import { WindowOperator, type KeyWindow } from './window-operator.js';

interface KeyWindows {
  key: unknown;
  /** window start → accumulator */
  windows: Map<number, unknown[]>;
  /** window start → its timers' id (see WindowOperator.timerIds) */
  ids: Map<number, number>;
}

/** A key's windows in a snapshot (and in LMDB). */
type WindowsData = [key: unknown, windows: Array<[start: number, acc: unknown[], timerId: number]>];

const codec: StateCodec<KeyWindows, WindowsData> = {
  encode: (s) => [s.key, [...s.windows].map(([start, acc]) => [start, acc, s.ids.get(start)!])],
  decode: ([key, windows]) => ({ key, windows: new Map(windows.map(([start, acc]) => [start, acc])), ids: new Map(windows.map(([start, , id]) => [start, id])) }),
};

/**
 * Tumbling and sliding event-time windows with Flink's semantics: a window [start, end) fires when the
 * watermark reaches end - 1, stays updatable (re-firing per late event) until end - 1 + lateness, and
 * is then dropped; an event all of whose windows are past that goes to the late output.
 */
export class AlignedWindowOperator extends WindowOperator<KeyWindows, WindowsData> {
  private readonly size: number;
  private readonly slide: number;
  private readonly accs: unknown[][] = [];
  private readonly starts: number[] = [];

  constructor(spec: WindowSpec, lateness: number, aggregates: AggregateSet, out: OperatorOutput, stores: StoreFactory) {
    if (spec.type === 'session') throw new Error('AlignedWindowOperator takes tumbling or sliding windows');
    super(codec, lateness, aggregates, out, stores);
    this.size = spec.size;
    this.slide = spec.type === 'sliding' ? spec.slide : spec.size;
  }

  override onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void {
    if (this.admit(kg, key, wm, src, pos, event)) this.fold(kg, key, sk, ts, src, pos, seq, event, null);
  }

  /** A pane's events, none of which the router let fire a window before the last of them (see window-combiner.ts). */
  onPartial(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, inputs: PaneView): void {
    this.timers.advanceWatermark(wm);
    if (this.timers.isDue(alignDown(ts, this.slide) + this.slide)) throw new Error(`a combined window pane reached its actor after its window fired (watermark ${wm}, event time ${ts})`);
    this.fold(kg, key, sk, ts, src, pos, seq, undefined, inputs);
  }

  /** Add one event (its inputs extracted by admit), or a pane's events' inputs, to the windows of `ts`. */
  private fold(kg: number, key: unknown, sk: StateKey, ts: number, src: number, pos: number, seq: number, event: unknown, inputs: PaneView | null): void {
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
      if (inputs === null) this.aggregates.addAll(accs, seq);
      else this.aggregates.addInputs(accs, inputs, seq);
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

  protected override windowsOf(state: KeyWindows): KeyWindow[] {
    return [...state.windows].sort((a, b) => a[0] - b[0]).map(([start, acc]) => ({ id: state.ids.get(start)!, start, end: start + this.size, acc }));
  }

  protected override accOf(state: KeyWindows, start: number): unknown[] | undefined {
    return state.windows.get(start);
  }

  protected override drop(state: KeyWindows, start: number): boolean {
    state.windows.delete(start);
    state.ids.delete(start);
    return state.windows.size === 0;
  }
}
