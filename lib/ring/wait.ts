/**
 * Sleep until `control[index]` no longer holds `expected`, or `timeoutMs` passes.
 *
 * Atomics.waitAsync keeps the calling thread's event loop free (the main thread must never block,
 * and workers answer control messages while idle). The timeout is a safety net against a missed
 * notify, as in pino's thread-stream: callers re-check the ring after every wake-up anyway.
 *
 * The wake-up on timeout is our own timer, raced with the wait: V8 delivers waitAsync's timeout as a task
 * that does not keep Node's event loop alive, so a process whose only pending work is such a wait can go
 * idle and exit (or a test runner end a test) before it resolves. waitAsync keeps its own timeout too, so
 * V8 drops its waiter even when no notify ever comes (an idle thread would otherwise pile them up).
 */
export async function waitWhileEqual(control: Int32Array, index: number, expected: number, timeoutMs: number): Promise<void> {
  const result = Atomics.waitAsync(control, index, expected, timeoutMs);
  if (!result.async) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([result.value, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}
