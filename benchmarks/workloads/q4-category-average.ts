/**
 * Nexmark q4, average price per category: the winning price of each auction (its highest bid placed while
 * it was open), then per category the average of those prices. Three stages: the auctions' bids (see
 * auction-bids.ts, keeping of each auction and bid only what the query reads), the winning price per auction
 * when it closes, and the average per category in tumbling windows of 10 s of closing time (Beam's Nexmark
 * averages in windows; Flink's SQL keeps a running average).
 */
import { avg, first, max, tumbling } from '../../lib/index.js';
import type { Auction, Bid } from '../../lib/nexmark/model.js';
import { auctionBids, auctionLife, type AuctionBid } from './auction-bids.js';

type Pair = AuctionBid<Pick<Auction, 'id' | 'dateTime' | 'expires' | 'category'>, Pick<Bid, 'auction' | 'price' | 'dateTime'>>;

export const q4 = auctionBids('q4-category-average', {
  auction: ({ id, dateTime, expires, category }) => ({ id, dateTime, expires, category }),
  bid: ({ auction, price, dateTime }) => ({ auction, price, dateTime }),
})
  .window(auctionLife)
  .aggregate({ category: first((p: Pair) => p.auction.category), final: max((p: Pair) => p.bid.price) })
  .keyBy((r) => r.category)
  .window(tumbling(10_000))
  .aggregate({ average: avg((r) => r.final as number) });
