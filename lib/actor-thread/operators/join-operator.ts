import { codes, describeThrown } from '../../shared/errors.js';
import { LateInput, type JoinedPair } from '../../pipeline/join-input.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import { unemittable } from '../process/process-context.js';
import type { StoreFactory } from '../state/state-store.js';
import type { OperatorOutput } from './operator.js';
import type { ProcessFunction } from '../../pipeline/process-function.js';
import { KeyedProcessOperator } from './keyed-process-operator.js';

type Join = NonNullable<Pipeline['joined']>;

/**
 * A join (interval-join.ts, window-join.ts, session-join.ts, regular-join.ts): the process operator on the
 * joined stream, except for what the join emits: a LateInput (an event the join can no longer take, by the
 * watermark in band) goes to the late output, as Flink drops it; a pair becomes a result through the
 * pipeline's select here, one by one, so a select that throws is a dead letter for its pair alone and the
 * join's state stays as it is.
 */
export class JoinOperator extends KeyedProcessOperator {
  /** `later`: a join of two pipelines' results, whose input is not in the write-ahead log (see ContextHost). */
  constructor(fn: ProcessFunction, private readonly join: Join, out: OperatorOutput, stores: StoreFactory, later: boolean) {
    super(fn, out, stores, true, !later);
  }

  protected override emitAll(kg: number, key: unknown, src: number, pos: number, ts: number, emitted: readonly unknown[], behind?: number): void {
    for (const pair of emitted as ReadonlyArray<JoinedPair | LateInput>) {
      if (pair instanceof LateInput) {
        this.out.late(kg, pair.event);
        continue;
      }
      let result: unknown;
      let problem: string | null;
      try {
        result = this.join.result(pair, key);
        problem = unemittable(result);
        if (problem !== null) problem = `select() returned ${problem}`;
      } catch (err) {
        problem = describeThrown(err);
      }
      if (problem === null) this.out.result(kg, result, key, src, pos, ts, behind);
      else this.out.problem({ code: codes.USER_FUNCTION, stage: 'select', detail: problem, key, event: { left: pair[0], right: pair[1] } }, kg, src, pos);
    }
  }
}
