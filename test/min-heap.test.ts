import t from 'tap';
import { MinHeap } from '../lib/shared/min-heap.js';

// The heap gives its items by their number, and items of equal numbers in the order `tie` says: checked
// against a plain sort of the same items, pushed and popped in turns.

/** A deterministic pseudo-random sequence (the same items every run). */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

interface Item { key: number; order: number }

t.test('items come out by their number, equal numbers in the tie order, whatever order they went in', async (t) => {
  for (const seed of [1, 2, 3]) {
    const next = random(seed);
    const heap = new MinHeap<Item>((a, b) => a.order < b.order);
    const held: Item[] = [];
    const out: Item[] = [];
    const expected: Item[] = [];
    for (let round = 0; round < 50; round++) {
      // Few distinct numbers, so that ties are common; fractions, negatives and infinities among them.
      for (let i = 0; i < 20; i++) {
        const key = [Math.floor(next() * 10) - 3, 0.5, -Infinity, Infinity][Math.floor(next() * 4)];
        const item = { key, order: Math.floor(next() * 1000) };
        heap.push(key, item);
        held.push(item);
      }
      held.sort((a, b) => a.key - b.key || a.order - b.order || 0);
      for (let i = 0; i < 15; i++) {
        t.equal(heap.peekKey(), held[0].key, 'peekKey is the least number');
        out.push(heap.pop()!);
        expected.push(held.shift()!);
      }
    }
    t.same(out.map((i) => [i.key, i.order]), expected.map((i) => [i.key, i.order]), `seed ${seed}: the same order as a sort`);
    t.equal(heap.size, held.length, 'the rest is still held');
  }
  const empty = new MinHeap<number>();
  t.equal(empty.peekKey(), Infinity, 'an empty heap: Infinity');
  t.equal(empty.pop(), undefined);
});
