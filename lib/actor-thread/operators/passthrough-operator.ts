import type { Operator, OperatorOutput } from './operator.js';

/** Pipelines with no window or process function: each event (after filter/map) is a result. */
export class PassthroughOperator implements Operator<never, never> {
  constructor(private readonly out: OperatorOutput) {}

  onEvent(kg: number, key: unknown, _sk: unknown, _ts: number, _wm: number, src: number, pos: number, _seq: number, event: unknown): void {
    this.out.result(kg, event, key, src, pos, NaN);
  }

  advanceWatermark(): void {}

  beginSnapshot(): void {}

  snapshotGroup(): undefined {
    return undefined;
  }

  restore(): void {}

  restoreWatermark(): void {}

  query(): unknown {
    return undefined;
  }
}
