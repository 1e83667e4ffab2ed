import { codes, describeThrown } from '../../shared/errors.js';
import { stateKeyOf, type StateKey } from '../../shared/keygroups.js';
import { expiringEntries, fromData, isEmpty, purgeExpired, readable, toData, type KeyState, type KeyStateData } from '../process/key-state.js';
import type { StateCodec, StateStore, StoreFactory } from '../state/state-store.js';
import { OperatorState, type OperatorStateData } from '../process/operator-state.js';
import { Context, type ContextHost, type KeyTimer } from '../process/process-context.js';
import { hasExpiryTimers, type ProcessFunction, type TimeDomain } from '../../pipeline/process-function.js';
import { reclaimTime } from '../process/ttl.js';
import { TIMER_SOURCE } from '../../shared/codec/records.js';
import type { Operator, OperatorOutput } from './operator.js';
import { TimerHeap } from './timer-heap.js';

// In the store, expired entries are kept until reclaimed (reads skip them); snapshots leave them out.
const codec: StateCodec<KeyState> = { encode: (s) => toData(s, -Infinity), decode: (data) => fromData(data as KeyStateData) };

/** A key-group's state: its keys' data (`K`: as restored; as snapshotted, maybe KeySlots), its timers. */
interface GroupData<K = KeyStateData> {
  keys: K[];
  /** Pending timers as [time, key] (and for a timer set behind the watermark, that watermark): event time, and processing time. */
  timers: Array<[number, unknown, number?]>;
  processingTimers?: Array<[number, unknown, number?]>;
}

/**
 * Runs a keyed process function, as Flink's KeyedProcessOperator runs a KeyedProcessFunction: value,
 * map and list state per key (optionally with a TTL), operator state, and event- and processing-time
 * timers. Each call is a transaction (see Context).
 *
 * Expired TTL entries are never returned, and are reclaimed incrementally: each write queues its key
 * for the time its entry expires (rounded up, so a key is queued once per span), and the queue is
 * worked off as the clock passes — never a scan of the whole state.
 */
export class KeyedProcessOperator implements Operator<GroupData, OperatorStateData>, ContextHost {
  readonly store: StateStore<KeyState>;
  readonly operatorState = new OperatorState();
  readonly eventTimers = new TimerHeap<KeyTimer>();
  readonly processingTimers = new TimerHeap<KeyTimer>();
  private readonly reclaims = new TimerHeap<KeyTimer>();
  readonly ttlDomain: TimeDomain;
  private readonly ctx: Context;
  /** Whether any TTL entry was ever written or restored (snapshots then leave expired entries out). */
  private usesTtl = false;
  /** Its event-time timers only drop state (see EXPIRY_TIMERS). */
  private readonly expiryTimers: boolean;

  /**
   * `eventTime`: the pipeline has event time (TTLs follow it); `processingTime`: processing-time timers may
   * be set (not in a later stage, see ContextHost).
   */
  constructor(private readonly fn: ProcessFunction, protected readonly out: OperatorOutput, stores: StoreFactory, eventTime: boolean,
              readonly processingTime = true) {
    this.store = stores(codec);
    this.ttlDomain = eventTime ? 'event' : 'processing';
    this.expiryTimers = hasExpiryTimers(fn);
    this.ctx = new Context(this);
  }

  onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, _seq: number, event: unknown): void {
    this.advanceWatermark(wm);
    const ctx = this.ctx;
    ctx.enter(kg, sk, key, ts, 'event');
    try {
      refuseAsync(this.fn.onEvent(event, ctx), 'onEvent');
    } catch (err) {
      ctx.rollback();
      this.out.problem({ code: codes.USER_FUNCTION, stage: 'process', detail: describeThrown(err), key, event }, kg, src, pos);
      return;
    }
    this.emitAll(kg, key, src, pos, ts, ctx.commit());
  }

  expiring(kg: number, sk: StateKey, key: unknown, expiresAt: number): void {
    this.usesTtl = true;
    this.reclaims.register(reclaimTime(expiresAt), sk, { kg, sk, key });
  }

  /** Timers per key-group as they were at the barrier (a group's timers change only after touch(kg)). */
  private frozen: { timers: Map<number, GroupData['timers']>; processingTimers: Map<number, GroupData['timers']>; now: number } | null = null;

  beginSnapshot(): void {
    this.frozen = { timers: byGroup(this.eventTimers), processingTimers: byGroup(this.processingTimers), now: this.ttlNow() };
  }

  /** A key-group's live keys with their state, and its timers. */
  snapshotGroup(kg: number): GroupData<unknown> | undefined {
    const timers = this.frozen?.timers.get(kg) ?? [];
    const processingTimers = this.frozen?.processingTimers.get(kg) ?? [];
    const now = this.usesTtl ? this.frozen?.now ?? this.ttlNow() : -Infinity;
    // With a TTL a key's data depends on the time (what has expired by then): no bytes from before.
    const keys = this.store.snapshot(kg, (s) => toData(s, now), !this.usesTtl);
    if (keys.length === 0 && timers.length === 0 && processingTimers.length === 0) return undefined;
    return { keys, timers, processingTimers };
  }

  restore(kg: number, state: GroupData): void {
    const { keys, timers, processingTimers = [] } = state;
    for (const data of keys) {
      const s = fromData(data);
      const sk = stateKeyOf(s.key);
      this.store.set(kg, sk, s);
      for (const e of expiringEntries(s)) this.expiring(kg, sk, s.key, e.expiresAt);
    }
    for (const [time, key, behind] of timers) this.restoreTimer(this.eventTimers, kg, time, key, behind);
    for (const [time, key] of processingTimers) this.restoreTimer(this.processingTimers, kg, time, key, undefined);
  }

  restoreWatermark(wm: number): void {
    this.ctx.watermark = wm;
  }

  snapshotOperatorState(): OperatorStateData | null {
    return this.operatorState.snapshot();
  }

  restoreOperatorState(parts: Array<OperatorStateData | null>, actor: number, workers: number): void {
    this.operatorState.restore(parts, actor, workers);
  }

  queryOperatorState(): Record<string, unknown[]> {
    return this.operatorState.readable();
  }

  /** The key's live value, map and list state by name. */
  query(kg: number, sk: StateKey): unknown {
    const s = this.store.get(kg, sk);
    return s === undefined ? undefined : readable(s, this.ttlNow());
  }

  advanceWatermark(wm: number): void {
    if (wm <= this.ctx.watermark) return;
    this.ctx.watermark = wm;
    // At the end of input (+∞) there is nothing left to reclaim memory for, by TTL or by timers that only expire state.
    if (wm === Infinity && this.expiryTimers) return;
    this.eventTimers.advance(wm, this.fireEventTimer);
    if (this.ttlDomain === 'event' && wm !== Infinity) this.reclaims.advance(wm, this.reclaim);
  }

  advanceProcessingTime(now: number): void {
    if (now <= this.ctx.currentProcessingTime) return;
    this.ctx.currentProcessingTime = now;
    this.processingTimers.advance(now, this.fireProcessingTimer);
    if (this.ttlDomain === 'processing') this.reclaims.advance(now, this.reclaim);
  }

  nextProcessingTime(): number {
    const reclaim = this.ttlDomain === 'processing' ? this.reclaims.earliest() : Infinity;
    return Math.min(this.processingTimers.earliest(), reclaim);
  }

  private ttlNow(): number {
    return this.ttlDomain === 'event' ? this.ctx.watermark : this.ctx.currentProcessingTime;
  }

  private restoreTimer(heap: TimerHeap<KeyTimer>, kg: number, time: number, key: unknown, behind: number | undefined): void {
    const sk = stateKeyOf(key);
    heap.register(time, sk, behind === undefined ? { kg, sk, key } : { kg, sk, key, behind });
  }

  private readonly reclaim = (_time: number, t: KeyTimer): void => {
    const s = this.store.get(t.kg, t.sk);
    if (s === undefined) return;
    this.out.touch(t.kg);
    const next = purgeExpired(s, this.ttlNow());
    if (isEmpty(s)) this.store.delete(t.kg, t.sk);
    else if (next !== Infinity) this.expiring(t.kg, t.sk, t.key, next);
  };

  private readonly fireEventTimer = (time: number, t: KeyTimer): void => this.fire(time, t, 'event');
  private readonly fireProcessingTimer = (time: number, t: KeyTimer): void => this.fire(time, t, 'processing');

  private fire(time: number, t: KeyTimer, domain: TimeDomain): void {
    // Called below with the user's object as `this`, as a method call would.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const onTimer = this.fn.onTimer;
    if (typeof onTimer !== 'function') return;
    const ctx = this.ctx;
    this.out.touch(t.kg);
    ctx.enter(t.kg, t.sk, t.key, NaN, domain);
    // An event-time timer fires as of its own time (one set behind the watermark: as of that watermark), so
    // what it reads, TTLs included, and what it sets are the same however far the watermark moved at once.
    const watermark = ctx.watermark;
    if (domain === 'event') ctx.watermark = t.behind ?? time;
    let emitted: readonly unknown[];
    try {
      refuseAsync(onTimer.call(this.fn, time, ctx), 'onTimer');
      emitted = ctx.commit();
    } catch (err) {
      ctx.rollback();
      this.out.problem({ code: codes.USER_FUNCTION, stage: 'onTimer', detail: describeThrown(err), key: t.key }, t.kg, TIMER_SOURCE, time);
      return;
    } finally {
      ctx.watermark = watermark;
    }
    // An event-time timer's output has its time, as in Flink; a processing-time timer's has none.
    this.emitAll(t.kg, t.key, TIMER_SOURCE, time, domain === 'event' ? time : NaN, emitted, t.behind);
  }

  /**
   * What a call emitted, as results; `key`, `src`, `pos`: where it was; `ts`: the results' time; `behind`:
   * for a timer set behind the watermark, that watermark.
   */
  protected emitAll(kg: number, key: unknown, src: number, pos: number, ts: number, emitted: readonly unknown[], behind?: number): void {
    for (const e of emitted) this.out.result(kg, e, key, src, pos, ts, behind);
  }
}

const ignore = () => {};

/**
 * A process function must be synchronous: state it wrote after an await would escape the undo log (a
 * failed call is rolled back) and the checkpoint. A call that returned a promise (an async function) is
 * failed, rolled back and reported; its rejection, now or later, is handled here so it cannot crash the
 * actor, and the context refuses what it does after the await.
 */
function refuseAsync(returned: unknown, name: string): void {
  if (returned === undefined || typeof (returned as PromiseLike<unknown> | null)?.then !== 'function') return;
  (returned as PromiseLike<unknown>).then(undefined, ignore);
  throw new TypeError(`${name}() returned a promise: process functions must be synchronous (no async/await), as state written after an await would escape the rollback of a failed call and the checkpoint`);
}

function byGroup(heap: TimerHeap<KeyTimer>): Map<number, GroupData['timers']> {
  const groups = new Map<number, GroupData['timers']>();
  heap.forEach((time, _id, t) => {
    let list = groups.get(t.kg);
    if (list === undefined) groups.set(t.kg, (list = []));
    list.push(t.behind === undefined ? [time, t.key] : [time, t.key, t.behind]);
  });
  return groups;
}
