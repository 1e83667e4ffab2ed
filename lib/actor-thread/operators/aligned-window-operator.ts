import type { AggregateSet } from '../../pipeline/aggregates/aggregate-set.js';
import type { StateKey } from '../../shared/keygroups.js';
import type { PaneView } from '../../shared/codec/frame.js';
import type { StateCodec, StoreFactory } from '../state/state-store.js';
import { alignDown, type AlignedWindowSpec } from '../../pipeline/windows/window.js';
import type { OperatorOutput } from './operator.js';
import { WindowOperator, type KeyWindow } from './window-operator.js';

/** One of a key's windows: its start, accumulator and timers' id (see WindowOperator.timerIds). */
interface Open {
  start: number;
  acc: unknown[];
  id: number;
}

/**
 * A key's open windows, by start. A key has few at a time (one or two tumbling windows, size / slide
 * sliding ones, more only with allowed lateness), so a scan of a small array beats a Map: less to
 * allocate per key and window, and to collect when the window is dropped.
 */
interface KeyWindows {
  key: unknown;
  windows: Open[];
}

/** A key's windows in a snapshot (and in LMDB). */
type WindowsData = [key: unknown, windows: Array<[start: number, acc: unknown[], timerId: number]>];

const codec: StateCodec<KeyWindows, WindowsData> = {
  encode: (s) => [s.key, s.windows.map((w) => [w.start, w.acc, w.id])],
  decode: ([key, windows]) => ({ key, windows: windows.map(([start, acc, id]) => ({ start, acc, id })) }),
};

function find(windows: readonly Open[], start: number): Open | undefined {
  for (const w of windows) if (w.start === start) return w;
  return undefined;
}

/**
 * Tumbling and sliding event-time windows with Flink's semantics: a window [start, end) fires when the
 * watermark reaches end - 1, stays updatable (re-firing per late event) until end - 1 + lateness, and
 * is then dropped; an event all of whose windows are past that goes to the late output.
 */
export class AlignedWindowOperator extends WindowOperator<KeyWindows, WindowsData> {
  private readonly size: number;
  private readonly slide: number;
  // Scratch space of fold(), reused: an array emptied with `length = 0` lets go of its storage, and would
  // allocate it again at every event.
  /** The starts of an event's windows (at most size / slide of them). */
  private readonly starts: Float64Array;
  /** Their accumulators: an array per number of windows, so each has exactly that many. */
  private readonly accsByCount: unknown[][][] = [];

  constructor(spec: AlignedWindowSpec, lateness: number, aggregates: AggregateSet, out: OperatorOutput, stores: StoreFactory) {
    super(codec, lateness, aggregates, out, stores);
    this.size = spec.size;
    this.slide = spec.type === 'sliding' ? spec.slide : spec.size;
    this.starts = new Float64Array(Math.ceil(this.size / this.slide));
  }

  override onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void {
    if (this.admit(kg, key, wm, src, pos, event)) this.fold(kg, key, sk, ts, src, pos, seq, event, null);
  }

  /**
   * A pane's events, none of which the router let fire a window before the last of them (see
   * window-combiner.ts): so none is late, and built-in adds do not throw; `fold` has no event to report.
   */
  onPartial(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, inputs: PaneView): void {
    this.timers.advanceWatermark(wm);
    if (this.timers.isDue(alignDown(ts, this.slide) + this.slide)) throw new Error(`a combined window pane reached its actor after its window fired (watermark ${wm}, event time ${ts})`);
    this.fold(kg, key, sk, ts, src, pos, seq, undefined, inputs);
  }

  /** Add one event (its inputs extracted by admit), or a pane's events' inputs, to the windows of `ts`. */
  private fold(kg: number, key: unknown, sk: StateKey, ts: number, src: number, pos: number, seq: number, event: unknown, inputs: PaneView | null): void {
    const { size, slide, timers, starts } = this;
    let n = 0;
    for (let start = alignDown(ts, slide); start > ts - size; start -= slide) {
      if (!timers.isClosed(start + size)) starts[n++] = start;
    }
    if (n === 0) {
      this.out.late(kg, event);
      return;
    }
    let state = this.store.get(kg, sk);
    if (state === undefined) this.store.set(kg, sk, (state = { key, windows: [] }));
    const accs = (this.accsByCount[n] ??= new Array<unknown[]>(n));
    for (let i = 0; i < n; i++) accs[i] = find(state.windows, starts[i])?.acc ?? this.aggregates.create();
    try {
      if (inputs === null) this.aggregates.addAll(accs, seq);
      else this.aggregates.addInputs(accs, inputs, seq);
    } catch (err) {
      if (state.windows.length === 0) this.store.delete(kg, sk);
      this.out.problem(this.emitter.addThrew(err, key, event), kg, src, pos);
      return;
    }
    for (let i = 0; i < n; i++) {
      const start = starts[i];
      const end = start + size;
      if (find(state.windows, start) === undefined) {
        const id = this.timerIds++;
        state.windows.push({ start, acc: accs[i], id });
        timers.schedule(id, kg, sk, start, end);
      }
      // Already fired but within the allowed lateness: fire again with the updated result.
      if (timers.isDue(end)) this.emitter.emit(state.key, kg, start, end, accs[i]);
    }
  }

  protected override windowsOf(state: KeyWindows): KeyWindow[] {
    return [...state.windows].sort((a, b) => a.start - b.start).map((w) => ({ id: w.id, start: w.start, end: w.start + this.size, acc: w.acc }));
  }

  protected override accOf(state: KeyWindows, start: number): unknown[] | undefined {
    return find(state.windows, start)?.acc;
  }

  protected override drop(state: KeyWindows, start: number): boolean {
    const at = state.windows.findIndex((w) => w.start === start);
    if (at >= 0) state.windows.splice(at, 1);
    return state.windows.length === 0;
  }
}
