/** Nexmark q11 shape: bids per bidder in session windows with a 10 s gap. */
import { count, session } from '../../lib/index.js';
import { OUT_OF_ORDER, bids } from './bids.js';

export const q11 = bids('q11-sessions')
  .keyBy((b) => b.bidder)
  .eventTime((b) => b.dateTime, OUT_OF_ORDER)
  .window(session(10_000))
  .aggregate({ bids: count() });
