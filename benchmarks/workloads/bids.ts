/** What the Nexmark workloads share: bids out of the event stream, and the out-of-orderness bound. */
import { pipeline } from '../../lib/index.js';
import type { Bid, NexmarkEvent } from '../../lib/nexmark/model.js';

export const bids = (name: string) => pipeline<NexmarkEvent>(name).filter((e) => e.kind === 'bid').map((e) => (e as { bid: Bid }).bid);

export const OUT_OF_ORDER = { outOfOrderMs: 2_000 };
