/**
 * Sleep until `control[index]` no longer holds `expected`, or `timeoutMs` passes.
 *
 * Atomics.waitAsync keeps the calling thread's event loop free (the main thread must never block,
 * and workers answer control messages while idle). The timeout is a safety net against a missed
 * notify, as in pino's thread-stream: callers re-check the ring after every wake-up anyway.
 */
export async function waitWhileEqual(control: Int32Array, index: number, expected: number, timeoutMs: number): Promise<void> {
  const result = Atomics.waitAsync(control, index, expected, timeoutMs);
  if (!result.async) return;
  // A pending waitAsync does not keep Node's event loop alive (a worker would exit mid-wait);
  // a timer of the same length does.
  const keepAlive = setTimeout(() => {}, timeoutMs + 1);
  try {
    await result.value;
  } finally {
    clearTimeout(keepAlive);
  }
}
