/**
 * Nexmark q3, local item suggestion: sellers from Oregon, Idaho or California with the auctions they open
 * in category 10. Nexmark's is an unbounded regular join; here each event is kept for an hour of event
 * time, longer than a run. Each input keeps only the fields the query reads, as Flink's planner projects
 * them before its join (what the join keeps, and every frame, is the smaller for it).
 */
import { pipeline } from '../../lib/index.js';
import type { Auction, NexmarkEvent, Person } from '../../lib/nexmark/model.js';
import { OUT_OF_ORDER } from './bids.js';

export const Q3_STATES = ['OR', 'ID', 'CA'];
export const Q3_CATEGORY = 10;
export const Q3_TTL_MS = 3_600_000;

// The join's other input only: not exported, so it does not run as a pipeline of its own.
const auctions = pipeline<NexmarkEvent>('q3-auctions')
  .filter((e) => e.kind === 'auction' && e.auction.category === Q3_CATEGORY)
  .map((e) => {
    const { id, seller, dateTime } = (e as { auction: Auction }).auction;
    return { id, seller, dateTime };
  })
  .keyBy((a) => a.seller)
  .eventTime((a) => a.dateTime);

export const q3 = pipeline<NexmarkEvent>('q3-join')
  .filter((e) => e.kind === 'person' && Q3_STATES.includes(e.person.state))
  .map((e) => {
    const { id, name, city, state, dateTime } = (e as { person: Person }).person;
    return { id, name, city, state, dateTime };
  })
  .keyBy((p) => p.id)
  .eventTime((p) => p.dateTime, OUT_OF_ORDER)
  .join(auctions, { ttlMs: Q3_TTL_MS, select: (p, a) => ({ name: p.name, city: p.city, state: p.state, id: a.id }) });
