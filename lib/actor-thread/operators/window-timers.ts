import { MAX_KEY_GROUPS_LIMIT, type StateKey } from '../../shared/keygroups.js';
import { TimerHeap } from './timer-heap.js';

/** A window's timer: fire it (emit the result), clean it up (drop its state), or both. */
export interface WindowTimer {
  kg: number;
  sk: StateKey;
  start: number;
  end: number;
  fire: boolean;
  cleanup: boolean;
}

/**
 * The watermark of one window operator and its windows' timers, with Flink's rules: a window fires when
 * the watermark reaches end - 1 and is dropped when it reaches end - 1 + lateness. A window created
 * when already due gets no firing timer (it fires on the spot, as EventTimeTrigger.onElement does).
 */
export class WindowTimers {
  watermark = -Infinity;
  private readonly timers = new TimerHeap<WindowTimer>();

  constructor(private readonly lateness: number, private readonly fire: (time: number, t: WindowTimer) => void) {}

  /** Is a window ending at `end` past its allowed lateness (so an event for it is late)? */
  isClosed(end: number): boolean {
    return end - 1 + this.lateness <= this.watermark;
  }

  /** Has a window ending at `end` fired already (so an update must re-fire at once)? */
  isDue(end: number): boolean {
    return end - 1 <= this.watermark;
  }

  /**
   * `id` identifies the window within its key-group (ids grow with creation). The timer's key adds the
   * key-group, because after rescaling one actor holds groups from several actors whose ids overlap.
   */
  schedule(id: number, kg: number, sk: StateKey, start: number, end: number): void {
    const key = id * MAX_KEY_GROUPS_LIMIT + kg;
    const fireAt = end - 1;
    const cleanupAt = end - 1 + this.lateness;
    const fire = fireAt > this.watermark;
    if (fire && cleanupAt !== fireAt) this.timers.register(fireAt, key, { kg, sk, start, end, fire: true, cleanup: false });
    this.timers.register(cleanupAt, key, { kg, sk, start, end, fire: fire && cleanupAt === fireAt, cleanup: true });
  }

  unschedule(id: number, kg: number, end: number): void {
    const key = id * MAX_KEY_GROUPS_LIMIT + kg;
    this.timers.delete(end - 1, key);
    this.timers.delete(end - 1 + this.lateness, key);
  }

  advanceWatermark(wm: number): void {
    if (wm <= this.watermark) return;
    this.watermark = wm;
    this.timers.advance(wm, this.fire);
  }
}
