/** A state-heavy pipeline for the recovery benchmark: every key keeps one open window. */
import { count, pipeline, sum, tumbling } from '../../lib/index.js';

export const perKey = pipeline<{ id: number; t: number; v: number }>('per-key')
  .keyBy((e) => e.id)
  .eventTime((e) => e.t)
  .window(tumbling(1_000_000_000))
  .aggregate({ n: count(), total: sum((e) => e.v) });
