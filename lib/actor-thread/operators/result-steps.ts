import { codes, describeThrown } from '../../shared/errors.js';
import { afterFailure } from '../../shared/ignore.js';
import type { Stage } from '../../pipeline/pipeline.js';
import { unemittable } from '../process/process-context.js';
import type { OperatorOutput } from './operator.js';

/**
 * A pipeline's filter() and map() after its stateful part (aggregate(), process(), a join), run by the
 * actor on each result as it is emitted, before it is numbered: a result a filter drops takes no number,
 * so numbers stay dense and a replay gives the same ones. A step that throws (or returns a promise, or a
 * map that returns what no result can be) turns that result into a dead letter naming the step; the state
 * behind the result stays as it is, as when an aggregate's result() throws.
 */
export function withResultSteps(steps: readonly Stage[], out: OperatorOutput): OperatorOutput {
  if (steps.length === 0) return out;
  return {
    late: (kg, event) => out.late(kg, event),
    touch: (kg) => out.touch(kg),
    problem: (problem, kg, src, pos) => out.problem(problem, kg, src, pos),
    result(kg, value, key, src, pos, ts, behind) {
      let item = value;
      for (const step of steps) {
        let detail: string;
        try {
          const returned = step.fn(item);
          detail = isThenable(returned) ? `${step.kind}() returned a promise: steps on the results must be synchronous`
            : step.kind === 'map' ? withPrefix(unemittable(returned)) : '';
          if (detail === '') {
            if (step.kind === 'filter' && !returned) return;
            if (step.kind === 'map') item = returned;
            continue;
          }
        } catch (err) {
          detail = describeThrown(err);
        }
        const stage = step.kind === 'filter' ? 'resultFilter' : 'resultMap';
        out.problem({ code: codes.USER_FUNCTION, stage, detail, key, event: item }, kg, src, pos);
        return;
      }
      out.result(kg, item, key, src, pos, ts, behind);
    },
  };
}

const withPrefix = (problem: string | null) => (problem === null ? '' : `map() returned ${problem}`);

/** A promise (an async step): refused, and its rejection, now or later, handled here. */
function isThenable(x: unknown): boolean {
  if (typeof (x as PromiseLike<unknown> | null)?.then !== 'function') return false;
  (x as PromiseLike<unknown>).then(undefined, afterFailure);
  return true;
}
