/**
 * The main job: bids per auction in tumbling 10-second event-time windows, with count, volume and the
 * top price. Worker threads import this module to run the pipeline, so it only defines pipelines.
 */
import { count, max, pipeline, sum, tumbling } from 'keyflow';
import type { NexmarkEvent } from '../lib/nexmark/model.js';

type BidEvent = Extract<NexmarkEvent, { kind: 'bid' }>;

export const bidsPerAuction = pipeline<NexmarkEvent>('bids-per-auction')
  .filter((e) => e.kind === 'bid')
  .map((e) => (e as BidEvent).bid)
  .keyBy((bid) => bid.auction)
  .eventTime((bid) => bid.dateTime, { outOfOrderMs: 2_000 })
  .window(tumbling(10_000))
  .aggregate({ bids: count(), volume: sum((bid) => bid.price), top: max((bid) => bid.price) });
