import type { Problem } from '../dead-letter.js';
import type { StateKey } from '../keygroups.js';

/** Source id used for problems raised while firing timers (there is no event then). */
export const TIMER_SOURCE = 0xffff;

/** Where an operator sends what it produces; the actor turns these into output records. */
export interface OperatorOutput {
  result(value: unknown): void;
  late(event: unknown): void;
  /** A bad event or a throwing user function at (src, pos); the main thread adds the location. */
  problem(problem: Problem, kg: number, src: number, pos: number): void;
}

/** The keyed part of a pipeline, run by the actor that owns the event's key-group. */
export interface Operator {
  /**
   * One event. `wm` is the pipeline's watermark just before this event in the source order; the
   * operator advances to it first, which makes lateness decisions independent of how keys are spread
   * over actors. `seq` increases with arrival order at this actor.
   */
  onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void;
  /** The watermark moved (in band, or +Infinity at the end of input): fire what is due. */
  advance(wm: number): void;
}
