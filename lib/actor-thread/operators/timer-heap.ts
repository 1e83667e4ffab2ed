import type { StateKey } from '../../shared/keygroups.js';
import { MinHeap } from '../../shared/min-heap.js';

/** What tells a time's timers apart: a key's state key, or a window's number. */
export type TimerId = StateKey;

/**
 * Timers on one clock (a watermark, or processing time) in a heap priority queue, as Flink's
 * InternalTimerService keeps them: advancing the clock fires every timer whose time is <= it, earliest
 * first, and timers of the same time in the order they were registered (so firing is deterministic).
 *
 * The heap holds each distinct time once; timers live in a per-time map keyed by an id, which makes
 * registering the same (id, time) twice a no-op and deletion O(1). A time whose map was emptied by
 * deletions stays in the heap until popped and is then skipped.
 */
export class TimerHeap<T> {
  /** Each distinct pending time once. */
  private readonly times = new MinHeap<number>();
  private readonly byTime = new Map<number, Map<TimerId, T>>();

  register(time: number, id: TimerId, payload: T): void {
    let timers = this.byTime.get(time);
    if (timers === undefined) {
      this.byTime.set(time, (timers = new Map()));
      this.times.push(time, time);
    }
    if (!timers.has(id)) timers.set(id, payload);
  }

  delete(time: number, id: TimerId): void {
    this.byTime.get(time)?.delete(id);
  }

  has(time: number, id: TimerId): boolean {
    return this.byTime.get(time)?.has(id) ?? false;
  }

  /** The payload of timer `id` at `time`, or undefined if there is none. */
  get(time: number, id: TimerId): T | undefined {
    return this.byTime.get(time)?.get(id);
  }

  /** Fire every timer with time <= `now`. Timers registered while firing fire too if already due. */
  advance(now: number, fire: (time: number, payload: T) => void): void {
    const times = this.times;
    while (times.size > 0 && times.peekKey() <= now) {
      const time = times.pop()!;
      const timers = this.byTime.get(time);
      this.byTime.delete(time);
      if (timers === undefined) continue;
      for (const payload of timers.values()) fire(time, payload);
    }
  }

  /** The earliest pending time (Infinity if none; may be a time whose timers were all deleted). */
  earliest(): number {
    return this.times.peekKey();
  }

  /** Call `fn` with every pending timer, in firing order (a snapshot's: a generator and a comparator sort cost 1 µs a timer). */
  forEach(fn: (time: number, id: TimerId, payload: T) => void): void {
    const times = Float64Array.from(this.byTime.keys()).sort();
    for (let i = 0; i < times.length; i++) {
      const time = times[i];
      for (const [id, payload] of this.byTime.get(time)!) fn(time, id, payload);
    }
  }

  /** Number of pending timers. */
  size(): number {
    let n = 0;
    for (const m of this.byTime.values()) n += m.size;
    return n;
  }
}
