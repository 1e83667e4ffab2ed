/**
 * Bids per auction as the plain baselines compute them: tumbling 10 s event-time windows per auction with
 * count, sum and max in one Map, late bids dropped (watermark = highest event time so far - 2 s - 1, as
 * keyflow's), every window kept until the end.
 */
const SIZE = 10_000;

export interface BidWindow { key: number; windowStart: number; windowEnd: number; bids: number; volume: number; top: number }

export class BidWindows {
  readonly windows = new Map<string, BidWindow>();
  private maxTime = -Infinity;

  add(auction: number, price: number, dateTime: number): void {
    const watermark = this.maxTime - 2_000 - 1;
    if (dateTime > this.maxTime) this.maxTime = dateTime;
    const start = dateTime - (dateTime % SIZE);
    if (start + SIZE - 1 <= watermark) return;
    const id = `${auction}|${start}`;
    const w = this.windows.get(id);
    if (w === undefined) this.windows.set(id, { key: auction, windowStart: start, windowEnd: start + SIZE, bids: 1, volume: price, top: price });
    else {
      w.bids++;
      w.volume += price;
      if (price > w.top) w.top = price;
    }
  }
}
