/**
 * Nexmark q9, winning bids: each auction, once it closes, with its highest bid placed while it was open
 * (a tie to the earlier bid), as Nexmark's ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC,
 * dateTime ASC) = 1. Auctions without such a bid have no result.
 */
import { first, topN } from '../../lib/index.js';
import { auctionBids, auctionLife, type AuctionBid } from './auction-bids.js';

// The result has the whole auction and bid: keep all of them.
export const q9 = auctionBids('q9-winning-bids', { auction: (a) => a, bid: (b) => b })
  .window(auctionLife)
  .aggregate({
    auction: first((p: AuctionBid) => p.auction),
    winner: topN(1, (p: AuctionBid) => [p.bid.price, -p.bid.dateTime], { value: (p: AuctionBid) => p.bid }),
  })
  .map((r) => ({ ...(r.auction as AuctionBid['auction']), bid: (r.winner as Array<AuctionBid['bid']>)[0] }));
