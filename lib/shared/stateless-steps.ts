import type { Pipeline } from '../pipeline/pipeline.js';

/** The steps left the value out. */
export const FILTERED: unique symbol = Symbol('filtered');

/** A filter or map threw. */
export class StepFailure {
  constructor(readonly stage: 'filter' | 'map', readonly error: unknown, readonly value: unknown) {}
}

/**
 * A value through a pipeline's filter/map steps (before its key: on the events a router routes, or on the
 * results a pipeline reads with from()): what comes out, FILTERED, or the step that threw.
 */
export function runSteps(steps: Pipeline['stages'], value: unknown): unknown {
  let v = value;
  for (const step of steps) {
    try {
      if (step.kind === 'map') v = step.fn(v);
      else if (!step.fn(v)) return FILTERED;
    } catch (err) {
      return new StepFailure(step.kind, err, v);
    }
  }
  return v;
}
