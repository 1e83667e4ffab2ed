/** A small deterministic PRNG (an LCG) for the tests' random choices, so a failing run can be reproduced. */
export function prng(seed: number): () => number {
  let s = seed;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}
