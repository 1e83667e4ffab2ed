import { extremum } from './extremum.js';

/** The smallest `fn(event)`. */
export const min = <E>(fn: (event: E) => number) => extremum('min', fn);
