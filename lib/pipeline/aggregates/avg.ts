import { builtin, numberProblem } from './aggregate.js';

/** The arithmetic mean of `fn(event)`, kept as [sum, count] so windows merge exactly. */
export const avg = <E>(fn: (event: E) => number) => builtin<number, [number, number], number | null, E>({
  label: 'avg',
  extract: fn,
  check: (v) => numberProblem('avg', v),
  init: () => [0, 0],
  add: (acc, v) => [acc[0] + v, acc[1] + 1],
  addRun: ([sum, n], inputs, at, stride, count) => {
    for (let e = 0; e < count; e++) sum += inputs[at + e * stride] as number;
    return [sum, n + count];
  },
  merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
  result: (acc) => (acc[1] === 0 ? null : acc[0] / acc[1]),
});
