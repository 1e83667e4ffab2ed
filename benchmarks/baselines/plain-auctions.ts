/**
 * Nexmark q9 and q4 with no framework (see plain.ts): auctions with the bids placed while they were open
 * (each auction's and bid's time at or above the watermark before it, or it is late), the winning bid of
 * each auction once the watermark reaches its expiry (price, then the earlier bid), and for q4 the average
 * winning price per category in tumbling 10 s windows of expiry time, fired as the watermark passes them.
 */
import type { Auction, Bid, NexmarkEvent } from '../../lib/nexmark/model.js';

export type AuctionWorkload = 'q4-category-average' | 'q9-winning-bids';
/** A prepared input: an auction or a bid. */
export type AuctionValue = [side: 0, auction: Auction] | [side: 1, bid: Bid];

const CATEGORY_WINDOW = 10_000;

export function isAuctionWorkload(name: string): name is AuctionWorkload {
  return name === 'q4-category-average' || name === 'q9-winning-bids';
}

export function prepareAuctions(e: NexmarkEvent): AuctionValue | undefined {
  if (e.kind === 'auction') return [0, e.auction];
  if (e.kind === 'bid') return [1, e.bid];
  return undefined;
}

export const auctionKey = (v: AuctionValue): number => (v[0] === 0 ? v[1].id : v[1].auction);

interface Open { auction: Auction; best: Bid | null }
interface CategoryWindow { category: number; start: number; sum: number; count: number }

export class PlainAuctions {
  /** Auctions not closed yet, by id, and the same by expiry (auctions come about in expiry order). */
  private readonly open = new Map<number, Open>();
  private readonly byExpiry: Open[] = [];
  private closed = 0;
  /** Bids that came before their auction did, by auction id. */
  private readonly early = new Map<number, Bid[]>();
  private readonly categories = new Map<string, CategoryWindow>();
  private wm = -Infinity;
  late = 0;

  constructor(private readonly name: AuctionWorkload, private readonly emit: (r: unknown) => void) {}

  add(v: AuctionValue, wm: number): void {
    this.advance(wm);
    if (v[1].dateTime < wm) {
      this.late++;
      return;
    }
    if (v[0] === 0) {
      const auction = v[1];
      const open: Open = { auction, best: null };
      this.open.set(auction.id, open);
      let at = this.byExpiry.length;
      while (at > this.closed && this.byExpiry[at - 1].auction.expires > auction.expires) at--;
      this.byExpiry.splice(at, 0, open);
      for (const b of this.early.get(auction.id) ?? []) this.offer(open, b);
      this.early.delete(auction.id);
    } else {
      const bid = v[1];
      const open = this.open.get(bid.auction);
      if (open !== undefined) this.offer(open, bid);
      else this.early.set(bid.auction, [...(this.early.get(bid.auction) ?? []), bid]);
    }
  }

  private offer(open: Open, b: Bid): void {
    const a = open.auction;
    if (b.dateTime < a.dateTime || b.dateTime > a.expires) return;
    const best = open.best;
    if (best === null || b.price > best.price || (b.price === best.price && b.dateTime < best.dateTime)) open.best = b;
  }

  /** Close every auction that has expired by `wm`, then fire the category windows it has passed. */
  advance(wm: number): void {
    if (wm <= this.wm) return;
    this.wm = wm;
    while (this.closed < this.byExpiry.length && this.byExpiry[this.closed].auction.expires <= wm) {
      const { auction, best } = this.byExpiry[this.closed++];
      this.open.delete(auction.id);
      if (best === null) continue;
      if (this.name === 'q9-winning-bids') this.emit({ ...auction, bid: best });
      else this.addToCategory(auction.category, auction.expires, best.price);
    }
    if (this.closed > 1024) {
      this.byExpiry.splice(0, this.closed);
      this.closed = 0;
    }
    for (const [id, w] of this.categories) {
      if (w.start + CATEGORY_WINDOW - 1 > wm) continue;
      this.categories.delete(id);
      this.emit({ key: w.category, windowStart: w.start, windowEnd: w.start + CATEGORY_WINDOW, average: w.sum / w.count });
    }
  }

  private addToCategory(category: number, time: number, price: number): void {
    const start = time - (time % CATEGORY_WINDOW);
    const id = `${category}|${start}`;
    let w = this.categories.get(id);
    if (w === undefined) this.categories.set(id, (w = { category, start, sum: 0, count: 0 }));
    w.sum += price;
    w.count++;
  }

  finish(): void {
    this.advance(Infinity);
  }
}
