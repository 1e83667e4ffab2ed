/**
 * What Nexmark q4 and q9 start with: each auction with the bids placed while it was open, per auction in a
 * window the auction bounds ([opened, expires + 1), which closes when it expires). Two stages, as Beam's
 * Nexmark writes it: an interval join of auctions with their bids (a bid at most an auction's life after it
 * opens; a bid is kept only until the watermark passes it), then the pairs, still keyed by auction, into the
 * next stage in the same actor (keepKey(): the join's key is the auction already, as Flink's planner keeps
 * q9's join and ranking on one partitioning with no exchange between them).
 */
import { bounded, pipeline, type Pipeline, type WindowSpec } from '../../lib/index.js';
import { AUCTION_LENGTH_MS } from '../../lib/nexmark/generator.js';
import type { Auction, Bid, NexmarkEvent } from '../../lib/nexmark/model.js';
import { OUT_OF_ORDER } from './bids.js';

/** What the join needs of an auction and of a bid; a query keeps more of them, or only this. */
export type AuctionPart = Pick<Auction, 'id' | 'dateTime' | 'expires'>;
export type BidPart = Pick<Bid, 'auction' | 'price' | 'dateTime'>;
export type AuctionBid<A extends AuctionPart = Auction, B extends BidPart = Bid> = { auction: A; bid: B };

/** The window of an auction's bids: its life, closing when it expires. */
export const auctionLife: WindowSpec = bounded((p: AuctionBid<AuctionPart, BidPart>) => [p.auction.dateTime, p.auction.expires + 1]);

/**
 * Auctions joined with the bids placed while they were open, in a next stage keyed by auction (add
 * window(auctionLife) and an aggregate). `keep` says what of each auction and bid goes on: the less, the less each pair costs to
 * send to the next stage.
 */
export function auctionBids<A extends AuctionPart, B extends BidPart>(name: string, keep: { auction: (a: Auction) => A; bid: (b: Bid) => B }): Pipeline<AuctionBid<A, B>> {
  const { auction: keepAuction, bid: keepBid } = keep;
  // The join's other input only: not exported, so it does not run as a pipeline of its own.
  const bids = pipeline<NexmarkEvent>(`${name}-bids`)
    .filter((e) => e.kind === 'bid')
    .map((e) => keepBid((e as { bid: Bid }).bid))
    .keyBy((b) => b.auction)
    .eventTime((b) => b.dateTime);
  return pipeline<NexmarkEvent>(name)
    .filter((e) => e.kind === 'auction')
    .map((e) => keepAuction((e as { auction: Auction }).auction))
    .keyBy((a) => a.id)
    .eventTime((a) => a.dateTime, OUT_OF_ORDER)
    .intervalJoin(bids, { lowerMs: 0, upperMs: AUCTION_LENGTH_MS, select: (auction, bid): AuctionBid<A, B> => ({ auction, bid }) })
    .filter((p) => p.bid.dateTime <= p.auction.expires)
    .keepKey();
}
