/** Nexmark q5 shape: bids per auction in sliding windows of 10 s every 2 s. */
import { count, sliding } from '../../lib/index.js';
import { OUT_OF_ORDER, bids } from './bids.js';

export const q5 = bids('q5-sliding')
  .keyBy((b) => b.auction)
  .eventTime((b) => b.dateTime, OUT_OF_ORDER)
  .window(sliding(10_000, 2_000))
  .aggregate({ bids: count() });
