/** The reference for 'tumbling-bids' (test/fixtures/nexmark.ts): bids per auction in tumbling 10 s windows, 2 s out of order allowed. */
import type { Bid, NexmarkEvent } from '../../lib/nexmark/model.js';
import { reference, type Item } from './reference.js';

export function tumblingBidsReference(events: readonly NexmarkEvent[]): { results: unknown[]; late: Bid[] } {
  const bids = events.flatMap((e) => (e.kind === 'bid' ? [e.bid] : []));
  const prices = (items: Item<Bid>[]) => items.map((i) => i.value.price);
  return reference(bids, {
    key: (b) => b.auction, time: (b) => b.dateTime, outOfOrderMs: 2_000, lateness: 0,
    window: { type: 'tumbling', size: 10_000 },
    aggregate: (items) => ({ bids: items.length, volume: prices(items).reduce((a, b) => a + b, 0), top: Math.max(...prices(items)) }),
  });
}
