import { builtin } from './aggregate.js';

/** The number of events in the window. */
export const count = () => builtin<unknown, number, number>({
  label: 'count',
  extract: null,
  init: () => 0,
  add: (acc) => acc + 1,
  addRun: (acc, _inputs, _at, _stride, count) => acc + count,
  merge: (a, b) => a + b,
  result: (acc) => acc,
});
