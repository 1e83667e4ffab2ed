/**
 * Waiting in tests on progress, never on the clock alone: every wait has a generous deadline and, when
 * it passes, fails naming what was awaited (a hang is a failure, not a test runner timeout).
 */

/** Poll `probe` until it returns a value; give up after `ms` with a message naming what was awaited. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 60_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what} after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `p`, or a failure naming `what` if it has not settled after `ms`. */
export function within<T>(p: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} hung for ${ms / 1000} s`)), ms)));
  return Promise.race([p, hung]).finally(() => clearTimeout(timer));
}
