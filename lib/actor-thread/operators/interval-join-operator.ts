import type { StateKey } from '../../shared/keygroups.js';
import type { JoinInput } from '../../pipeline/interval-join.js';
import { KeyedProcessOperator } from './keyed-process-operator.js';

/**
 * An interval join (see interval-join.ts): the process operator, except that an event older than the
 * watermark (Flink's isLate: time < watermark) goes to the late output instead of the join, as Flink drops
 * it; so whether an event is joined depends on the watermark in band only.
 */
export class IntervalJoinOperator extends KeyedProcessOperator {
  override onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, seq: number, event: unknown): void {
    if (ts < wm) {
      this.advanceWatermark(wm);
      this.out.late(kg, (event as JoinInput)[1]);
      return;
    }
    super.onEvent(kg, key, sk, ts, wm, src, pos, seq, event);
  }
}
