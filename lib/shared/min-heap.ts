/**
 * A binary heap by a number: `pop()` gives the item of the least (of two equal, the one `tie` puts first),
 * in O(log n). The numbers are kept apart from the items, in an array of doubles: a comparison reads two
 * numbers next to each other instead of two objects wherever they are, and calls nothing unless they are
 * equal (a comparator called for every comparison, shared by every heap, was not inlined: 5 % of q9's actor).
 */
export class MinHeap<T> {
  private readonly keys: number[] = [];
  private readonly items: T[] = [];

  /** `tie(a, b)`: whether `a` goes before `b` when their numbers are equal (default: either). */
  constructor(private readonly tie: ((a: T, b: T) => boolean) | null = null) {}

  get size(): number {
    return this.items.length;
  }

  /** The first item, left in place (undefined if none). */
  peek(): T | undefined {
    return this.items[0];
  }

  /** The first item's number (Infinity if none). */
  peekKey(): number {
    return this.items.length > 0 ? this.keys[0] : Infinity;
  }

  /** Every item, in no particular order. */
  values(): readonly T[] {
    return this.items;
  }

  push(key: number, item: T): void {
    const { keys, items } = this;
    let i = items.length;
    keys.push(key);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(key, item, keys[parent], items[parent])) break;
      keys[i] = keys[parent];
      items[i] = items[parent];
      i = parent;
    }
    keys[i] = key;
    items[i] = item;
  }

  pop(): T | undefined {
    const { keys, items } = this;
    const top = items[0];
    const lastKey = keys.pop()!;
    const last = items.pop()!;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.before(keys[r], items[r], keys[l], items[l]) ? r : l;
        if (!this.before(keys[c], items[c], lastKey, last)) break;
        keys[i] = keys[c];
        items[i] = items[c];
        i = c;
      }
      keys[i] = lastKey;
      items[i] = last;
    }
    return top;
  }

  private before(ka: number, a: T, kb: number, b: T): boolean {
    return ka < kb || (ka === kb && this.tie !== null && this.tie(a, b));
  }
}
