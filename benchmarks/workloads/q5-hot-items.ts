/**
 * Nexmark q5, hot items: the auction with the most bids in each sliding window of 10 s every 2 s, over all
 * auctions (a tie goes to the auction bid on first). Nexmark counts per auction and then takes the maximum
 * per window, two stages; topCount() on one global key does it in one.
 */
import { sliding, topCount } from '../../lib/index.js';
import { OUT_OF_ORDER, bids } from './bids.js';

export const q5 = bids('q5-hot-items')
  .keyBy(() => 'all')
  .eventTime((b) => b.dateTime, OUT_OF_ORDER)
  .window(sliding(10_000, 2_000))
  .aggregate({ hot: topCount(1, (b) => b.auction) });
