/** Bids per auction in tumbling 10 s windows: count, volume, top price. */
import { count, max, sum, tumbling } from '../../lib/index.js';
import { OUT_OF_ORDER, bids } from './bids.js';

export const bidsPerAuction = bids('tumbling-bids')
  .keyBy((b) => b.auction)
  .eventTime((b) => b.dateTime, OUT_OF_ORDER)
  .window(tumbling(10_000))
  .aggregate({ bids: count(), volume: sum((b) => b.price), top: max((b) => b.price) });
