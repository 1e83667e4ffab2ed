import { extremum } from './extremum.js';

/** The largest `fn(event)`. */
export const max = <E>(fn: (event: E) => number) => extremum('max', fn);
