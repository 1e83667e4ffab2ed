/** Nexmark q1: currency conversion (dollars to euros). */
import { bids } from './bids.js';

export const q1 = bids('q1').map((b) => ({ auction: b.auction, bidder: b.bidder, price: Math.round(b.price * 0.908), dateTime: b.dateTime }));
