/**
 * Local pre-aggregation (Flink's "local aggregation", done where events are routed): the events of one key
 * and one window pane that go into one frame travel as a single PARTIAL record carrying each event's
 * aggregate inputs, extracted by the router, instead of as whole events. The actor folds the inputs in
 * with the same adds, in the same order, as it would the events (AlignedWindowOperator.onPartial), so
 * results are bit for bit those of routing the events one by one; what is saved is encoding, decoding and
 * collecting whole event objects on the way.
 *
 * The record takes the place of the pane's first event in the frame. That is exact only if no input the
 * actor sees between that event and the pane's last one could fire any of its windows, so an event joins
 * a pane only while the watermark it brings stays below the pane's earliest window end − 1 (`bound`); any
 * other event (one that may be late or re-fire a window, one that is not a plain object, one whose inputs
 * are not plain values or whose extraction fails and so must be reported by the actor) goes as itself.
 * After a recovery the actors can be ahead of the router (Router.recoveredTo): `bound` includes that.
 *
 * Only tumbling and sliding windows (a slide dividing the size) with built-in aggregates of plain values
 * (Aggregate.combinable: not topN()) qualify, and only events of untracked sources: an exactly-once
 * source's positions are deduplicated one event at a time on replay, which a record standing for several
 * events cannot be.
 */
import { AggregateSet } from '../pipeline/aggregates/aggregate-set.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { alignDown, isMerging } from '../pipeline/windows/window.js';
import type { FrameBuilder, PaneInputs } from './codec/frame.js';
import type { StateKey } from './keygroups.js';

/** Events per PARTIAL record at most. */
const MAX_PANE_EVENTS = 1024;
/** A PARTIAL record's inputs take at most this share of a frame's size limit (estimated: see inputBytes). */
const PANE_SHARE_OF_FRAME = 1 / 8;

/** A pane's PARTIAL record while its frame is built: its events' inputs, event by event, each in the order of AggregateSet.inputSlots. */
interface Pane extends PaneInputs {
  start: number;
  /** Its inputs' size, estimated as inputBytes does. */
  bytes: number;
}

/** An estimate from above of what inputs take in a frame: 8 bytes a number, 3 a UTF-16 unit of a string and 8 more. */
function inputBytes(values: readonly unknown[]): number {
  let bytes = 0;
  for (const v of values) bytes += typeof v === 'string' ? 8 + 3 * v.length : 8;
  return bytes;
}

export class WindowCombiner {
  private readonly aggregates: AggregateSet;
  private readonly slide: number;
  private readonly maxPaneBytes: number;
  /** Per actor, the pane open for each key in the frame being built for it. */
  private readonly open: Array<Map<StateKey, Pane>>;
  /** The least (earliest window end − 1) of the panes combined since `resetDue()`: see `due`. */
  private least = Infinity;

  /** A combiner for `pipeline`, or null if its windows or aggregates do not qualify. */
  static for(pipeline: Pipeline, actors: number, maxFrame: number): WindowCombiner | null {
    const spec = pipeline.windowSpec;
    if (spec === null || isMerging(spec) || pipeline.aggregates === null || pipeline.processFunction !== null) return null;
    const slide = spec.type === 'sliding' ? spec.slide : spec.size;
    if (spec.size % slide !== 0) return null;
    const aggregates = new AggregateSet(pipeline.aggregates);
    return aggregates.combinable ? new WindowCombiner(aggregates, slide, actors, maxFrame * PANE_SHARE_OF_FRAME) : null;
  }

  private constructor(aggregates: AggregateSet, slide: number, actors: number, maxPaneBytes: number) {
    this.aggregates = aggregates;
    this.slide = slide;
    this.maxPaneBytes = maxPaneBytes;
    this.open = Array.from({ length: actors }, () => new Map());
  }

  /**
   * Add an event to its pane's PARTIAL record in `builder` (appending the record if the pane has none
   * open), or return false: the caller sends the event as itself. `bound` is the most the watermark can be
   * when the actor reaches this event.
   */
  add(builder: FrameBuilder, actor: number, pipe: number, src: number, kg: number, ts: number, wm: number, bound: number, pos: number,
      key: unknown, sk: StateKey, event: unknown): boolean {
    const start = alignDown(ts, this.slide);
    // Every window of the pane ends at start + slide or later; none of them may fire before the pane's last event.
    const due = start + this.slide - 1;
    const values = bound < due && isPlainObject(event) ? this.aggregates.extractInputs(event) : null;
    const bytes = values === null ? 0 : inputBytes(values);
    const open = this.open[actor];
    if (values === null || bytes > this.maxPaneBytes) {
      // The event goes as itself, after the key's open pane: the key's later events start a new one, so
      // every window still gets its inputs in event order.
      open.delete(sk);
      return false;
    }
    let pane = open.get(sk);
    if (pane === undefined || pane.start !== start || pane.count === MAX_PANE_EVENTS || pane.bytes + bytes > this.maxPaneBytes) {
      pane = { start, count: 0, inputs: [], numeric: true, bytes: 0 };
      open.set(sk, pane);
      builder.partial(pipe, src, kg, ts, wm, pos, key, pane);
      if (due < this.least) this.least = due;
    }
    pane.count++;
    pane.bytes += bytes;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number') pane.numeric = false;
      pane.inputs.push(v);
    }
    return true;
  }

  /** The frame for `actor` is sealed: its panes are complete. */
  close(actor: number): void {
    this.open[actor].clear();
  }

  /** The least (earliest window end − 1) of every pane combined since the last `resetDue()` (Infinity if none). */
  get due(): number {
    return this.least;
  }

  resetDue(): void {
    this.least = Infinity;
  }
}

/**
 * Only plain objects are combined: the aggregates' field functions then read what the actor would read
 * from the event's copy (a class instance crosses as plain data, without its getters and methods).
 */
function isPlainObject(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const proto = Object.getPrototypeOf(event) as unknown;
  return proto === Object.prototype || proto === null;
}
