import { builtin, numberProblem } from './aggregate.js';

/** The sum of `fn(event)`; every value must be a number. */
export const sum = <E>(fn: (event: E) => number) => builtin<number, number, number, E>({
  label: 'sum',
  extract: fn,
  check: (v) => numberProblem('sum', v),
  init: () => 0,
  add: (acc, v) => acc + v,
  merge: (a, b) => a + b,
  result: (acc) => acc,
});
