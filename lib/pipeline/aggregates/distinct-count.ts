import { stateKeyOf } from '../../shared/keygroups.js';
import { builtin } from './aggregate.js';

/** The number of distinct `fn(event)` values (objects compare by their canonical JSON). */
export const distinctCount = <E>(fn: (event: E) => unknown) => builtin<unknown, Set<unknown>, number, E>({
  label: 'distinctCount',
  extract: fn,
  init: () => new Set(),
  add: (acc, v) => acc.add(stateKeyOf(v)),
  merge: (a, b) => new Set([...a, ...b]),
  result: (acc) => acc.size,
});
