import type { StateKey } from '../../shared/keygroups.js';
import type { JoinInput } from '../../pipeline/join-input.js';
import type { ProcessFunction } from '../../pipeline/process-function.js';
import type { StoreFactory } from '../state/state-store.js';
import type { OperatorOutput } from './operator.js';
import { KeyedProcessOperator } from './keyed-process-operator.js';

/**
 * A join (interval-join.ts, window-join.ts): the process operator on the joined stream, except that an
 * event the join can no longer take (`isLate`, by its time and the watermark before it) goes to the late
 * output, as Flink drops it; so whether an event is joined depends on the watermark in band only.
 */
export class JoinOperator extends KeyedProcessOperator {
  constructor(fn: ProcessFunction, out: OperatorOutput, stores: StoreFactory, private readonly isLate: (time: number, watermark: number) => boolean) {
    super(fn, out, stores, true);
  }

  override onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void {
    if (this.isLate(ts, wm)) {
      this.advanceWatermark(wm);
      this.out.late(kg, (event as JoinInput)[1]);
      return;
    }
    super.onEvent(kg, key, sk, ts, wm, src, pos, seq, event);
  }
}
