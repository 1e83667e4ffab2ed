import { builtin, numberProblem } from './aggregate.js';

/** The sum of `fn(event)`; every value must be a number. */
export const sum = <E>(fn: (event: E) => number) => builtin<number, number, number, E>({
  label: 'sum',
  extract: fn,
  check: (v) => numberProblem('sum', v),
  init: () => 0,
  add: (acc, v) => acc + v,
  addRun: (acc, inputs, at, stride, count) => {
    for (let e = 0; e < count; e++) acc += inputs[at + e * stride] as number;
    return acc;
  },
  merge: (a, b) => a + b,
  result: (acc) => acc,
});
