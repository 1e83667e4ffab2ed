/** Nexmark q2: selection of a few auctions. */
import { bids } from './bids.js';

export const q2 = bids('q2').filter((b) => b.auction % 123 === 0).map((b) => ({ auction: b.auction, price: b.price }));
