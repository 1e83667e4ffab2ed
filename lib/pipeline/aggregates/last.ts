import { byArrival } from './arrival.js';

/** `fn` of the last event to arrive in the window. */
export const last = <E>(fn: (event: E) => unknown) => byArrival('last', fn);
