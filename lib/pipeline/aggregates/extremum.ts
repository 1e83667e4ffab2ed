import { builtin, numberProblem } from './aggregate.js';

/** min() and max(): the same fold with the comparison flipped. Result is null for no values. */
export function extremum<E>(label: 'min' | 'max', fn: (event: E) => number) {
  const better = label === 'min' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
  return builtin<number, number | null, number | null, E>({
    label,
    extract: fn,
    check: (v) => numberProblem(label, v),
    init: () => null,
    add: (acc, v) => (acc === null || better(v, acc) ? v : acc),
    addRun: (acc, inputs, at, stride, count) => {
      for (let e = 0; e < count; e++) {
        const v = inputs[at + e * stride] as number;
        if (acc === null || better(v, acc)) acc = v;
      }
      return acc;
    },
    merge: (a, b) => (a === null ? b : b === null ? a : better(b, a) ? b : a),
    result: (acc) => acc,
  });
}
