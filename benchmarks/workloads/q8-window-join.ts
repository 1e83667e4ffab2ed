/**
 * Nexmark q8 shape, monitor new users: people with the auctions they open in the same tumbling 10 s window
 * as they sign up (a window join). One result per pair; Nexmark's q8 keeps one per person and window.
 */
import { pipeline, tumbling } from '../../lib/index.js';
import type { Auction, NexmarkEvent, Person } from '../../lib/nexmark/model.js';
import { OUT_OF_ORDER } from './bids.js';

const auctions = pipeline<NexmarkEvent>('q8-auctions')
  .filter((e) => e.kind === 'auction')
  .map((e) => (e as { auction: Auction }).auction)
  .keyBy((a) => a.seller)
  .eventTime((a) => a.dateTime);

export const q8 = pipeline<NexmarkEvent>('q8-window-join')
  .filter((e) => e.kind === 'person')
  .map((e) => (e as { person: Person }).person)
  .keyBy((p) => p.id)
  .eventTime((p) => p.dateTime, OUT_OF_ORDER)
  .windowJoin(auctions, tumbling(10_000), {
    select: (p, a, w) => ({ id: p.id, name: p.name, auction: a.id, windowStart: w.windowStart, windowEnd: w.windowEnd }),
  });
