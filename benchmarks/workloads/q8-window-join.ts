/**
 * Nexmark q8, monitor new users: the people who open an auction in the same tumbling 10 s window as they sign
 * up, one row per person and window (id, name, window), as Nexmark's q8. Two stages: a window join of people
 * with the auctions they open, then the pairs per person and window, in the same actor (keepKey(): the join's
 * key is the person already). Each input keeps only the fields the query reads, as Flink's planner projects
 * them before its join.
 */
import { first, pipeline, tumbling } from '../../lib/index.js';
import type { Auction, NexmarkEvent, Person } from '../../lib/nexmark/model.js';
import { OUT_OF_ORDER } from './bids.js';

const auctions = pipeline<NexmarkEvent>('q8-auctions')
  .filter((e) => e.kind === 'auction')
  .map((e) => {
    const { seller, dateTime } = (e as { auction: Auction }).auction;
    return { seller, dateTime };
  })
  .keyBy((a) => a.seller)
  .eventTime((a) => a.dateTime);

export const q8 = pipeline<NexmarkEvent>('q8-window-join')
  .filter((e) => e.kind === 'person')
  .map((e) => {
    const { id, name, dateTime } = (e as { person: Person }).person;
    return { id, name, dateTime };
  })
  .keyBy((p) => p.id)
  .eventTime((p) => p.dateTime, OUT_OF_ORDER)
  .windowJoin(auctions, tumbling(10_000), { select: (p) => ({ id: p.id, name: p.name }) })
  .keepKey()
  .window(tumbling(10_000))
  .aggregate({ name: first((r) => r.name) });
