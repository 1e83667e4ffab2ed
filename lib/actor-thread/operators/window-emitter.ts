import type { AggregateSet, ExtractProblem } from '../../pipeline/aggregates/aggregate-set.js';
import type { Problem } from '../../shared/dead-letter.js';
import { codes, describeThrown } from '../../shared/errors.js';
import { TIMER_SOURCE } from '../../shared/codec/records.js';
import type { OperatorOutput } from './operator.js';

/** How a window operator turns an accumulator into a result, and the problems it reports. */
export class WindowEmitter {
  constructor(private readonly aggregates: AggregateSet, private readonly out: OperatorOutput) {}

  /** A window's current result without emitting it (for queries); user result() errors are reported in it. */
  peek(start: number, end: number, acc: unknown[]): Record<string, unknown> {
    const result: Record<string, unknown> = { windowStart: start, windowEnd: end };
    try {
      this.aggregates.writeResults(acc, result);
    } catch (err) {
      result.error = describeThrown(err);
    }
    return result;
  }

  emit(key: unknown, kg: number, start: number, end: number, acc: unknown[]): void {
    const result: Record<string, unknown> = { key, windowStart: start, windowEnd: end };
    try {
      this.aggregates.writeResults(acc, result);
    } catch (err) {
      this.out.problem({ code: codes.USER_FUNCTION, stage: 'aggregate', detail: `result() threw for window [${start}, ${end}): ${describeThrown(err)}`, key }, kg, TIMER_SOURCE, end - 1);
      return;
    }
    this.out.result(kg, result, key, TIMER_SOURCE, end - 1, end - 1);
  }

  extractProblem(p: ExtractProblem, key: unknown, event: unknown): Problem {
    return p.kind === 'threw'
      ? { code: codes.USER_FUNCTION, stage: 'aggregate', detail: describeThrown(p.error), key, event }
      : { code: codes.BAD_VALUE, stage: 'aggregate', detail: p.message, key, event };
  }

  addThrew(err: unknown, key: unknown, event: unknown): Problem {
    return { code: codes.USER_FUNCTION, stage: 'aggregate', detail: `add() threw: ${describeThrown(err)}`, key, event };
  }
}
