import type { Problem } from '../../shared/dead-letter.js';
import type { StateKey } from '../../shared/keygroups.js';
import type { PaneView } from '../../shared/codec/frame.js';

/** Where an operator sends what it produces; the actor turns these into output records. */
export interface OperatorOutput {
  /**
   * Results and late events are numbered per key-group, so a sink can skip what it already wrote. `key`,
   * `src` and `pos` say where a result came from (a timer's: TIMER_SOURCE and its time), for the reports
   * of a pipeline's steps on its results (result-steps.ts). `ts`: the result's time, which a next stage
   * takes it in by (a window's end − 1; NaN where it has none). `behind`: for the output of a timer set
   * behind the watermark, that watermark (the result is late for a next stage, behind it).
   */
  result(kg: number, value: unknown, key: unknown, src: number, pos: number, ts: number, behind?: number): void;
  late(kg: number, event: unknown): void;
  /** Called before any change to a key-group's state, so a snapshot in progress can copy it first. */
  touch(kg: number): void;
  /** A bad event or a throwing user function at (src, pos); the main thread adds the location. */
  problem(problem: Problem, kg: number, src: number, pos: number): void;
}

/**
 * The keyed part of a pipeline, run by the actor that owns the event's key-group. `S` is one key-group's
 * state as snapshot data, `O` the actor's operator state as snapshot data: plain (cbor-encodable) data,
 * which a restore gets back as the same operator wrote it. The actor holds every operator as an
 * `Operator` (of unknown data), since it only carries the snapshots.
 */
export interface Operator<S = unknown, O = unknown> {
  /**
   * One event. `wm` is the pipeline's watermark just before this event in the source order; the
   * operator advances to it first, which makes lateness decisions independent of how keys are spread
   * over actors. `seq` increases with arrival order at this actor.
   */
  onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void;
  /**
   * Several events of one key and window pane as their aggregates' inputs (see window-combiner.ts), in
   * place of the first of them (`ts`, `wm`, `pos` are its); `seq` is the first's, the others' follow.
   * Only operators whose pipelines a WindowCombiner takes get them.
   */
  onPartial?(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, inputs: PaneView): void;
  /** The watermark moved (in band, or +Infinity at the end of input): fire what is due. */
  advanceWatermark(wm: number): void;
  /** The actor's processing-time clock moved (in band, from its WAL on replay): fire what is due. */
  advanceProcessingTime?(now: number): void;
  /** The earliest processing time at which the operator has work (Infinity if none). */
  nextProcessingTime?(): number;
  /** Prepare to snapshot the state as it is now (before snapshotGroup calls, which may come later). */
  beginSnapshot(): void;
  /**
   * One key-group's state as plain data (cbor-encodable; keys may be KeySlots, see StateStore.snapshot, and
   * SelfWritings, see StateCodec), or undefined if it holds none, for a StateWriter to encode at once; what
   * it decodes to is what restore() gets.
   */
  snapshotGroup(kg: number): unknown;
  /** The actor's operator state (not keyed; see OperatorState), copied as of now, or null if none. */
  snapshotOperatorState?(): O | null;
  /** Take this actor's share of the old actors' operator state (in old actor order). */
  restoreOperatorState?(parts: Array<O | null>, actor: number, workers: number): void;
  /** The operator state in a readable form (for engine.operatorState). */
  queryOperatorState?(): Record<string, unknown[]>;
  /** Restore one key-group's state; call `restoreWatermark` first. */
  restore(kg: number, state: S): void;
  restoreWatermark(wm: number): void;
  /** One key's current state in a readable form (for engine.query), or undefined if it holds none. */
  query(kg: number, sk: StateKey): unknown;
}
