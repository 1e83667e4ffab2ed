/** Nexmark q7 shape: the highest bid in each tumbling 10 s window (one global key). */
import { tumbling, type UserAggregate } from '../../lib/index.js';
import type { Bid } from '../../lib/nexmark/model.js';
import { OUT_OF_ORDER, bids } from './bids.js';

/** The highest bid itself, not only its price. */
const highest: UserAggregate<Bid, Bid | null, Bid | null> = {
  init: () => null,
  add: (acc, b) => (acc === null || b.price > acc.price ? b : acc),
  merge: (a, b) => (a === null ? b : b === null ? a : b.price > a.price ? b : a),
  result: (acc) => acc,
};

export const q7 = bids('q7-highest')
  .keyBy(() => 'all')
  .eventTime((b) => b.dateTime, OUT_OF_ORDER)
  .window(tumbling(10_000))
  .aggregate({ highest });
