/**
 * The Nexmark-style workloads of `npm run bench`, as a user would write them. Worker threads import this
 * module, so it only defines pipelines.
 */
import { count, max, pipeline, session, sliding, sum, tumbling, type UserAggregate } from '../../lib/index.js';
import type { Bid, NexmarkEvent } from '../../lib/nexmark/model.js';

const bids = (name: string) => pipeline<NexmarkEvent>(name).filter((e) => e.kind === 'bid').map((e) => (e as { bid: Bid }).bid);
const OUT_OF_ORDER = { outOfOrderMs: 2_000 };

/** q0: pass-through. */
export const q0 = pipeline<NexmarkEvent>('q0');

/** q1: currency conversion (dollars to euros). */
export const q1 = bids('q1').map((b) => ({ auction: b.auction, bidder: b.bidder, price: Math.round(b.price * 0.908), dateTime: b.dateTime }));

/** q2: selection of a few auctions. */
export const q2 = bids('q2').filter((b) => b.auction % 123 === 0).map((b) => ({ auction: b.auction, price: b.price }));

/** Bids per auction in tumbling 10 s windows. */
export const bidsPerAuction = bids('tumbling-bids')
  .keyBy((b) => b.auction)
  .eventTime((b) => b.dateTime, OUT_OF_ORDER)
  .window(tumbling(10_000))
  .aggregate({ bids: count(), volume: sum((b) => b.price), top: max((b) => b.price) });

/** q5 shape: bids per auction in sliding windows of 10 s every 2 s. */
export const q5 = bids('q5-sliding')
  .keyBy((b) => b.auction)
  .eventTime((b) => b.dateTime, OUT_OF_ORDER)
  .window(sliding(10_000, 2_000))
  .aggregate({ bids: count() });

/** The highest bid itself, not only its price. */
const highest: UserAggregate<Bid, Bid | null, Bid | null> = {
  init: () => null,
  add: (acc, b) => (acc === null || b.price > acc.price ? b : acc),
  merge: (a, b) => (a === null ? b : b === null ? a : b.price > a.price ? b : a),
  result: (acc) => acc,
};

/** q7 shape: the highest bid in each tumbling 10 s window (one global key). */
export const q7 = bids('q7-highest')
  .keyBy(() => 'all')
  .eventTime((b) => b.dateTime, OUT_OF_ORDER)
  .window(tumbling(10_000))
  .aggregate({ highest });

/** q11 shape: bids per bidder in session windows with a 10 s gap. */
export const q11 = bids('q11-sessions')
  .keyBy((b) => b.bidder)
  .eventTime((b) => b.dateTime, OUT_OF_ORDER)
  .window(session(10_000))
  .aggregate({ bids: count() });
