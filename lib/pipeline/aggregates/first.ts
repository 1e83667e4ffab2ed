import { byArrival } from './arrival.js';

/** `fn` of the first event to arrive in the window. */
export const first = <E>(fn: (event: E) => unknown) => byArrival('first', fn);
