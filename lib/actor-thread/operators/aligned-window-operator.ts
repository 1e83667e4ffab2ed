import type { AggregateSet } from '../../pipeline/aggregates/aggregate-set.js';
import type { StateKey } from '../../shared/keygroups.js';
import { SelfWriting, type Snapshotted, type StateOut } from '../../shared/codec/state-writer.js';
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
 * A key's open windows. A key has few at a time (one tumbling window, two across a boundary; size / slide
 * sliding ones; more only with allowed lateness), so the first is held in the key's own object and the
 * others in a small array that is scanned (it beats a Map). A key with one window is then two objects,
 * this and its accumulator, where an array of window objects made four: fewer to allocate per window, and
 * for the garbage collector to copy for as long as the window is open.
 */
interface KeyWindows extends Snapshotted {
  key: unknown;
  /** The first window opened of those still open; acc null once the key has none. */
  start: number;
  acc: unknown[] | null;
  id: number;
  /** The others, in the order they opened (null: none yet). */
  more: Open[] | null;
}

/** A key's windows object: always made here, with the same fields. */
function keyWindows(key: unknown, start: number, acc: unknown[] | null, id: number, more: Open[] | null): KeyWindows {
  return { key, start, acc, id, more, snap: undefined };
}

/** A key's windows in a snapshot (and in LMDB), in the order they opened. */
type WindowsData = [key: unknown, windows: Array<[start: number, acc: unknown[], timerId: number]>];

/** The key's windows, in the order they opened. */
function opened(s: KeyWindows): Open[] {
  const first = s.acc === null ? [] : [{ start: s.start, acc: s.acc, id: s.id }];
  return s.more === null ? first : [...first, ...s.more];
}

/** A key's windows written as its WindowsData, in the order they opened, read in place (see SelfWriting). */
class WrittenWindows extends SelfWriting {
  constructor(private readonly s: KeyWindows) {
    super();
  }

  writeTo(out: StateOut): void {
    const { key, start, acc, id, more } = this.s;
    out.arrayHeader(2);
    out.value(key);
    out.arrayHeader((acc === null ? 0 : 1) + (more === null ? 0 : more.length));
    if (acc !== null) writeWindow(out, start, acc, id);
    if (more !== null) writeWindows(out, more);
  }
}

function writeWindows(out: StateOut, windows: Open[]): void {
  for (const w of windows) writeWindow(out, w.start, w.acc, w.id);
}

function writeWindow(out: StateOut, start: number, acc: unknown[], id: number): void {
  out.arrayHeader(3);
  out.value(start);
  out.value(acc);
  out.value(id);
}

const codec: StateCodec<KeyWindows, WindowsData> = {
  encode: (s) => new WrittenWindows(s),
  decode: ([key, windows]) => {
    const [first, ...more] = windows;
    if (first === undefined) return keyWindows(key, NaN, null, 0, null);
    return keyWindows(key, first[0], first[1], first[2], more.length === 0 ? null : more.map(([start, acc, id]) => ({ start, acc, id })));
  },
};

/** The accumulator of the key's window that starts at `start`, or undefined if it has none. */
function accAt(s: KeyWindows, start: number): unknown[] | undefined {
  if (s.acc !== null && s.start === start) return s.acc;
  if (s.more !== null) for (const w of s.more) if (w.start === start) return w.acc;
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
  /** Whether the key already had each of them open (1) or it is opened by this event (0). */
  private readonly known: Uint8Array;
  /** Their accumulators: an array per number of windows, so each has exactly that many. */
  private readonly accsByCount: unknown[][][] = [];

  constructor(spec: AlignedWindowSpec, lateness: number, aggregates: AggregateSet, out: OperatorOutput, stores: StoreFactory) {
    super(codec, lateness, aggregates, out, stores);
    this.size = spec.size;
    this.slide = spec.type === 'sliding' ? spec.slide : spec.size;
    this.starts = new Float64Array(Math.ceil(this.size / this.slide));
    this.known = new Uint8Array(this.starts.length);
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
    const { size, slide, timers, starts, known } = this;
    let n = 0;
    for (let start = alignDown(ts, slide); start > ts - size; start -= slide) {
      if (!timers.isClosed(start + size)) starts[n++] = start;
    }
    if (n === 0) {
      this.out.late(kg, event);
      return;
    }
    const state = this.store.get(kg, sk);
    const accs = (this.accsByCount[n] ??= new Array<unknown[]>(n));
    for (let i = 0; i < n; i++) {
      const acc = state === undefined ? undefined : accAt(state, starts[i]);
      known[i] = acc === undefined ? 0 : 1;
      accs[i] = acc ?? this.aggregates.create();
    }
    try {
      if (inputs === null) this.aggregates.addAll(accs, seq);
      else this.aggregates.addInputs(accs, inputs, seq);
    } catch (err) {
      this.out.problem(this.emitter.addThrew(err, key, event), kg, src, pos);
      return;
    }
    let keyed = state;
    for (let i = 0; i < n; i++) {
      const start = starts[i];
      const end = start + size;
      if (known[i] === 0) {
        const id = this.timerIds++;
        keyed = this.open(kg, sk, key, keyed, start, accs[i], id);
        timers.schedule(id, kg, sk, start, end);
      }
      // Already fired but within the allowed lateness: fire again with the updated result. (The key has
      // this window open, known or just opened, so it has state.)
      if (timers.isDue(end)) this.emitter.emit(keyed!.key, kg, start, end, accs[i]);
    }
  }

  /** Open a window for the key (in its own object if it has none open); returns the key's windows. */
  private open(kg: number, sk: StateKey, key: unknown, state: KeyWindows | undefined, start: number, acc: unknown[], id: number): KeyWindows {
    if (state === undefined) {
      const created = keyWindows(key, start, acc, id, null);
      this.store.set(kg, sk, created);
      return created;
    }
    if (state.acc === null) {
      state.start = start;
      state.acc = acc;
      state.id = id;
    } else {
      (state.more ??= []).push({ start, acc, id });
    }
    return state;
  }

  protected override windowsOf(state: KeyWindows): KeyWindow[] {
    return opened(state).sort((a, b) => a.start - b.start).map((w) => ({ id: w.id, start: w.start, end: w.start + this.size, acc: w.acc }));
  }

  protected override accOf(state: KeyWindows, start: number): unknown[] | undefined {
    return accAt(state, start);
  }

  protected override drop(state: KeyWindows, start: number): boolean {
    const more = state.more;
    if (state.acc !== null && state.start === start) {
      // The next window to have opened takes the first's place.
      const next = more === null ? undefined : more.shift();
      if (next === undefined) {
        state.acc = null;
      } else {
        state.start = next.start;
        state.acc = next.acc;
        state.id = next.id;
      }
    } else if (more !== null) {
      const at = more.findIndex((w) => w.start === start);
      if (at >= 0) more.splice(at, 1);
    }
    if (more !== null && more.length === 0) state.more = null;
    return state.acc === null;
  }
}
