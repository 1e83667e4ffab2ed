import { codes, describeThrown, type ErrorCode } from './errors.js';
import { keyGroupOf, stateKeyOf, type StateKey } from './keygroups.js';

/** What keyBy() returned, checked: the key (-0 as 0), its state key and key-group; or why it cannot be one. */
export type CheckedKey = { key: unknown; sk: StateKey; kg: number } | { code: ErrorCode; detail: string };

/**
 * One canonical form per key, whatever the key-group count: -0 is the key 0 (a Map holds them as one); a key
 * that cannot be one (none, NaN, an infinite number, a function or symbol, JSON that cannot be written) is
 * refused before it reaches state or a frame. Used by the router for events and by the actors for a next
 * stage's input (shuffle.ts).
 */
export function checkKey(key: unknown, maxKeyGroups: number): CheckedKey {
  if (key === undefined || key === null || Number.isNaN(key)) return { code: codes.MISSING_KEY, detail: `keyBy() returned ${String(key)}: every event needs a key` };
  if (typeof key === 'number') {
    if (key === 0) key = 0;
    else if (key === Infinity || key === -Infinity) return { code: codes.BAD_KEY, detail: `keyBy() returned ${key}: a number key must be finite` };
  } else if (typeof key === 'function' || typeof key === 'symbol') {
    return { code: codes.BAD_KEY, detail: `keyBy() returned a ${typeof key}: a key must be a string, a number, a boolean, a bigint or JSON data` };
  }
  let sk: StateKey;
  try {
    sk = stateKeyOf(key);
  } catch (err) {
    return { code: codes.BAD_KEY, detail: `the key cannot be serialized: ${describeThrown(err)}` };
  }
  return { key, sk, kg: keyGroupOf(sk, maxKeyGroups) };
}
