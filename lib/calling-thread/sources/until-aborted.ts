/**
 * An async iterable read until a signal aborts, then no more: an item not yet handed over when it
 * aborts is dropped whole, so what was handed over is exactly what was read. The iterator is closed
 * without waiting: a read may still be pending on an input that never ends (stdin kept open).
 */
import { abandoned } from '../../shared/ignore.js';

export async function* untilAborted<T>(items: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  const it = items[Symbol.asyncIterator]();
  const aborted = signal === undefined ? null : new Promise<null>((resolve) => {
    if (signal.aborted) resolve(null);
    else signal.addEventListener('abort', () => resolve(null), { once: true });
  });
  try {
    for (;;) {
      // The abort first: once it has come, no item is taken, even one that is already there.
      const next = aborted === null ? await it.next() : await Promise.race([aborted, it.next()]);
      if (next === null || next.done) return;
      yield next.value;
    }
  } finally {
    it.return?.(undefined).catch(abandoned);
  }
}
