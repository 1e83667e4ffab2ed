import { AggregateSet } from '../../pipeline/aggregates/aggregate-set.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import { AlignedWindowOperator } from './aligned-window-operator.js';
import type { StoreFactory } from '../state/state-store.js';
import type { Operator, OperatorOutput } from './operator.js';
import { PassthroughOperator } from './passthrough-operator.js';
import { KeyedProcessOperator } from './keyed-process-operator.js';
import { JoinOperator } from './join-operator.js';
import { MergingWindowOperator } from './merging-window-operator.js';
import { withResultSteps } from './result-steps.js';
import { isMerging } from '../../pipeline/windows/window.js';

/** The keyed operator that runs a (validated) pipeline's stateful part inside an actor, then its steps on the results. */
export function createOperator(p: Pipeline, output: OperatorOutput, stores: StoreFactory): Operator {
  const out = withResultSteps(p.resultStages, output);
  // A later stage has its input's event time, and no processing-time timers (see ContextHost).
  const later = p.upstream !== null;
  if (p.joined) return new JoinOperator(p.processFunction!, p.joined, out, stores, later);
  if (p.processFunction) {
    return new KeyedProcessOperator(p.processFunction, out, stores, later || p.timeSelector !== null, !later);
  }
  if (p.windowSpec && p.aggregates) {
    const aggregates = new AggregateSet(p.aggregates);
    return isMerging(p.windowSpec)
      ? new MergingWindowOperator(p.windowSpec, p.allowedLatenessMs, aggregates, out, stores)
      : new AlignedWindowOperator(p.windowSpec, p.allowedLatenessMs, aggregates, out, stores);
  }
  return new PassthroughOperator(out);
}
