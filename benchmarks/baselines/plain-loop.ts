import type { NexmarkEvent } from '../../lib/nexmark/model.js';

interface Acc { bids: number; volume: number; top: number }

/**
 * The per-core ceiling: bids per auction in tumbling 10 s windows, written as one tight loop with no
 * framework — the same filter, key, watermark (max time - 2 s - 1), lateness rule, firing and result
 * objects as the keyflow job, on one thread.
 */
export function plainLoop(events: NexmarkEvent[], onResult: (r: unknown) => void): { late: number } {
  const SIZE = 10_000;
  const OUT_OF_ORDER = 2_000;
  const windows = new Map<number, Map<number, Acc>>(); // window end → auction → accumulator
  const ends: number[] = []; // open window ends, ascending
  let maxTime = -Infinity;
  let late = 0;
  const fireUpTo = (wm: number) => {
    while (ends.length > 0 && ends[0] - 1 <= wm) {
      const end = ends.shift()!;
      for (const [key, a] of windows.get(end)!) onResult({ key, windowStart: end - SIZE, windowEnd: end, bids: a.bids, volume: a.volume, top: a.top });
      windows.delete(end);
    }
  };
  for (const e of events) {
    if (e.kind !== 'bid') continue;
    const bid = e.bid;
    const t = bid.dateTime;
    const end = t - (t % SIZE) + SIZE;
    if (end - 1 <= maxTime - OUT_OF_ORDER - 1) {
      late++;
      continue;
    }
    let byKey = windows.get(end);
    if (byKey === undefined) {
      windows.set(end, (byKey = new Map()));
      let i = ends.length;
      while (i > 0 && ends[i - 1] > end) i--;
      ends.splice(i, 0, end);
    }
    const acc = byKey.get(bid.auction);
    if (acc === undefined) byKey.set(bid.auction, { bids: 1, volume: bid.price, top: bid.price });
    else {
      acc.bids++;
      acc.volume += bid.price;
      if (bid.price > acc.top) acc.top = bid.price;
    }
    if (t > maxTime) {
      maxTime = t;
      fireUpTo(maxTime - OUT_OF_ORDER - 1);
    }
  }
  fireUpTo(Infinity);
  return { late };
}
