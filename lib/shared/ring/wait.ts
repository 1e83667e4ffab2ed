/**
 * Sleeping on shared memory, the one way every ring counter and the doorbell do it: a sleeper announces
 * itself in a "waiting" slot (a count of sleepers), re-checks the counter, sleeps while it is unchanged, and
 * takes itself off the count; the other side stores the counter and notifies only when someone announced a sleep.
 *
 * Announce-then-re-check on one side and store-then-check-the-slot on the other are both sequentially
 * consistent atomics, so at least one side sees the other's store: a change between the sleeper's
 * first look and its sleep is never missed.
 *
 * Atomics.waitAsync keeps the calling thread's event loop free (the main thread must never block,
 * and workers answer control messages while idle). The timeout is a safety net against a missed
 * notify, as in pino's thread-stream: callers re-check after every wake-up anyway.
 */

/** The longest a sleeper waits before re-checking (a safety net against a missed notify). */
export const WAIT_TIMEOUT_MS = 100;

/**
 * Sleep while `control[index]` holds `seen` (or until `timeoutMs` passes), announced in
 * `control[waiting]` so the other side's `wake` notifies. False if the value had already moved, so
 * there was no sleep.
 */
export async function sleepOn(control: Int32Array, index: number, waiting: number, seen: number, timeoutMs = WAIT_TIMEOUT_MS,
                              elsewhere?: () => boolean): Promise<boolean> {
  // A count of sleepers, not a flag: one thread may have several (ingest() calls in flight each wait for
  // their frames), and one waking must not take the announcement of another still asleep.
  Atomics.add(control, waiting, 1);
  try {
    // Re-check after announcing the sleep, or a store made in between would go unnoticed (`elsewhere`: other
    // counters whose writers notify this one).
    const unchanged = Atomics.load(control, index) === seen && !(elsewhere?.() ?? false);
    if (unchanged) await waitWhileEqual(control, index, seen, timeoutMs);
    return unchanged;
  } finally {
    Atomics.sub(control, waiting, 1);
  }
}

/** After storing `control[index]`: wake its sleeper, if one announced itself in `control[waiting]`. */
export function wake(control: Int32Array, index: number, waiting: number): void {
  if (Atomics.load(control, waiting) !== 0) Atomics.notify(control, index);
}

/**
 * Sleep until `control[index]` no longer holds `expected`, or `timeoutMs` passes.
 *
 * The wake-up on timeout is our own timer, raced with the wait: V8 delivers waitAsync's timeout as a task
 * that does not keep Node's event loop alive, so a process whose only pending work is such a wait can go
 * idle and exit (or a test runner end a test) before it resolves. waitAsync keeps its own timeout too, so
 * V8 drops its waiter even when no notify ever comes (an idle thread would otherwise pile them up).
 */
async function waitWhileEqual(control: Int32Array, index: number, expected: number, timeoutMs: number): Promise<void> {
  const result = Atomics.waitAsync(control, index, expected, timeoutMs);
  if (!result.async) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([result.value, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}
