import { KeyflowError, codes } from '../../shared/errors.js';
import type { StateKey } from '../../shared/keygroups.js';
import { isEmpty, newKeyState, own, type KeyState } from './key-state.js';
import type { StateStore } from '../state/state-store.js';
import type { OperatorListState, OperatorState, OperatorStateOptions } from './operator-state.js';
import { STORED, type ListState, type MapState, type ProcessContext, type TimeDomain, type TimerControl, type ValueState } from '../../pipeline/process-function.js';
import type { TimerHeap } from '../operators/timer-heap.js';
import { EXPIRED, Expiring, liveValue, ttlProblem, type StateOptions, type StateTtl } from './ttl.js';

/** A timer of one key (event or processing time). */
export interface KeyTimer {
  kg: number;
  sk: StateKey;
  key: unknown;
  /**
   * An event-time timer set at or below the watermark (it fires at the next move of the watermark): the
   * watermark it was set under, which it fires as of (its outputs are late for a next stage behind it).
   */
  behind?: number;
}


/** What the context needs from its operator beyond the store. */
export interface ContextHost {
  readonly store: StateStore<KeyState>;
  readonly operatorState: OperatorState;
  readonly eventTimers: TimerHeap<KeyTimer>;
  readonly processingTimers: TimerHeap<KeyTimer>;
  /** False in a later stage, whose input is not in the write-ahead log: a replay could not fire its processing-time timers at the same point. */
  readonly processingTime: boolean;
  /** Which clock TTLs follow: event time in pipelines with eventTime(), else processing time. */
  readonly ttlDomain: TimeDomain;
  /** A TTL entry of this key was written or refreshed: queue its reclaim. */
  expiring(kg: number, sk: StateKey, key: unknown, expiresAt: number): void;
}

/**
 * The context a process function's calls get: one key's state, its timers, and emit. Each call is a
 * transaction: every change goes on an undo log, which rollback() replays backwards if the call throws.
 */
export class Context implements ProcessContext {
  key: unknown = undefined;
  timestamp = NaN;
  watermark = -Infinity;
  currentProcessingTime = -Infinity;
  timeDomain: TimeDomain = 'event';
  private kg = 0;
  private sk: StateKey = '';
  private state: KeyState | undefined;
  private readonly undo: Array<() => void> = [];
  private readonly emitted: unknown[] = [];
  private readonly handles = new Map<string, { ttl: StateTtl | undefined; handle: unknown }>();
  /** Between enter() and commit()/rollback(): changes outside a call (after an await) are refused. */
  private inCall = false;
  readonly timers: TimerControl;

  constructor(private readonly host: ContextHost) {
    this.timers = {
      registerEventTime: (time) => this.registerTimer(host.eventTimers, time),
      deleteEventTime: (time) => this.deleteTimer(host.eventTimers, time),
      registerProcessingTime: (time) => this.registerTimer(this.processingTimers(), time),
      deleteProcessingTime: (time) => this.deleteTimer(this.processingTimers(), time),
    };
  }

  enter(kg: number, sk: StateKey, key: unknown, timestamp: number, domain: TimeDomain): void {
    this.kg = kg;
    this.sk = sk;
    this.key = key;
    this.timestamp = timestamp;
    this.timeDomain = domain;
    this.state = this.host.store.get(kg, sk);
    empty(this.undo);
    empty(this.emitted);
    this.inCall = true;
  }

  rollback(): void {
    this.inCall = false;
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]();
    empty(this.undo);
    empty(this.emitted);
    this.dropIfEmpty();
  }

  /** Keep the call's changes; returns what it emitted (valid until the next call). */
  commit(): readonly unknown[] {
    this.inCall = false;
    empty(this.undo);
    this.dropIfEmpty();
    return this.emitted;
  }

  emit(value: unknown): void {
    this.assertInCall();
    const problem = unemittable(value);
    if (problem !== null) throw new TypeError(`ctx.emit() got ${problem}`);
    this.emitted.push(value);
  }

  value<T>(name: string, options?: StateOptions): ValueState<T> {
    return this.handle(name, options, (ttl) => {
      const values = () => this.state?.values;
      return {
        get: () => {
          const vs = values();
          const v = vs === undefined ? undefined : this.live(vs.get(name), ttl);
          return v === EXPIRED ? undefined : v;
        },
        set: (v) => {
          const vs = own(this.writable(), 'values');
          const had = vs.has(name);
          const old = vs.get(name);
          vs.set(name, this.wrap(v, ttl));
          this.undo.push(() => (had ? vs.set(name, old) : vs.delete(name)));
        },
        clear: () => {
          this.assertInCall();
          const vs = values();
          if (!vs?.has(name)) return;
          const old = vs.get(name);
          vs.delete(name);
          this.undo.push(() => vs.set(name, old));
        },
      } satisfies ValueState<unknown>;
    }) as ValueState<T>;
  }

  map<K, V>(name: string, options?: StateOptions): MapState<K, V> {
    return this.handle(name, options, (ttl) => {
      const current = () => this.state?.maps.get(name);
      const live = (): Array<[unknown, unknown]> => {
        const m = current();
        if (m === undefined) return [];
        const out: Array<[unknown, unknown]> = [];
        for (const [k, raw] of m) {
          const v = this.live(raw, ttl);
          if (v !== EXPIRED) out.push([k, v]);
        }
        return out;
      };
      return {
        get: (k) => {
          const m = current();
          if (m === undefined) return undefined;
          const v = this.live(m.get(k), ttl);
          return v === EXPIRED ? undefined : v;
        },
        has: (k) => {
          const m = current();
          return m !== undefined && m.has(k) && this.live(m.get(k), ttl) !== EXPIRED;
        },
        keys: () => {
          const m = current();
          if (m === undefined) return [];
          const out: unknown[] = [];
          for (const [k, raw] of m) if (this.live(raw, ttl) !== EXPIRED) out.push(k);
          return out;
        },
        entries: live,
        get size() {
          return live().length;
        },
        set: (k, v) => {
          const maps = own(this.writable(), 'maps');
          let m = maps.get(name);
          if (m === undefined) {
            maps.set(name, (m = new Map()));
            this.undo.push(() => maps.delete(name));
          }
          const had = m.has(k);
          const old = m.get(k);
          const map = m;
          map.set(k, this.wrap(v, ttl));
          this.undo.push(() => (had ? map.set(k, old) : map.delete(k)));
        },
        delete: (k) => {
          this.assertInCall();
          const m = current();
          if (!m?.has(k)) return;
          const old = m.get(k);
          m.delete(k);
          this.undo.push(() => m.set(k, old));
          // An emptied map goes, so that a key whose state is all deleted is dropped (see dropIfEmpty).
          if (m.size === 0) this.clearIn(this.state?.maps, name);
        },
        clear: () => this.clearIn(this.state?.maps, name),
        // The entries as stored (for state with no TTL, the live ones): see stored() in join-input.ts.
        [STORED]: current,
      } satisfies MapState<unknown, unknown> & { [STORED](): unknown };
    }) as MapState<K, V>;
  }

  list<T>(name: string, options?: StateOptions): ListState<T> {
    return this.handle(name, options, (ttl) => ({
      get: () => {
        const l = this.state?.lists.get(name);
        if (l === undefined) return [];
        const out: unknown[] = [];
        for (let i = 0; i < l.length; i++) {
          const v = this.live(l[i], ttl);
          if (v !== EXPIRED) out.push(v);
        }
        return out;
      },
      add: (v) => {
        const lists = own(this.writable(), 'lists');
        let l = lists.get(name);
        if (l === undefined) {
          lists.set(name, (l = []));
          this.undo.push(() => lists.delete(name));
        }
        const list = l;
        list.push(this.wrap(v, ttl));
        this.undo.push(() => { list.pop(); });
      },
      clear: () => this.clearIn(this.state?.lists, name),
      // The items as stored (for state with no TTL, the live ones): see stored() in join-input.ts.
      [STORED]: () => this.state?.lists.get(name),
    } satisfies ListState<unknown> & { [STORED](): unknown })) as ListState<T>;
  }

  operatorList<T>(name: string, options?: OperatorStateOptions): OperatorListState<T> {
    const mode = options?.redistribute ?? 'split';
    if (mode !== 'split' && mode !== 'union') throw new KeyflowError(codes.CONFIG, `operator state '${name}': redistribute must be 'split' or 'union', got ${String(mode)}`);
    return this.host.operatorState.list<T>(name, mode, this.undo);
  }

  /** Handles are made once per state name; a name keeps the TTL it was first declared with. */
  private handle(name: string, options: StateOptions | undefined, make: (ttl: StateTtl | undefined) => unknown): unknown {
    const ttl = options?.ttl;
    const known = this.handles.get(name);
    if (known !== undefined) {
      if (known.ttl?.ttlMs !== ttl?.ttlMs || (known.ttl?.update ?? 'onWrite') !== (ttl?.update ?? 'onWrite')) {
        throw new KeyflowError(codes.CONFIG, `state '${name}' is declared with two different TTLs`);
      }
      return known.handle;
    }
    const problem = ttlProblem(name, options);
    if (problem !== null) throw new KeyflowError(codes.CONFIG, problem);
    const handle = make(ttl);
    this.handles.set(name, { ttl, handle });
    return handle;
  }

  /** A stored entry's live value (EXPIRED if past its TTL), restarting its TTL if reads do. */
  private live(raw: unknown, ttl: StateTtl | undefined): unknown {
    const v = liveValue(raw, this.ttlNow());
    if (v !== EXPIRED && ttl?.update === 'onReadAndWrite' && raw instanceof Expiring) this.refresh(raw, ttl);
    return v;
  }

  private wrap(v: unknown, ttl: StateTtl | undefined): unknown {
    if (ttl === undefined) return v;
    const e = new Expiring(v, this.ttlStamp() + ttl.ttlMs);
    this.host.expiring(this.kg, this.sk, this.key, e.expiresAt);
    return e;
  }

  private refresh(e: Expiring, ttl: StateTtl): void {
    const old = e.expiresAt;
    e.expiresAt = this.ttlStamp() + ttl.ttlMs;
    if (e.expiresAt === old) return;
    this.host.expiring(this.kg, this.sk, this.key, e.expiresAt);
    this.undo.push(() => (e.expiresAt = old));
  }

  /** Now, for expiry: the watermark (event time) or the actor's processing-time clock. */
  private ttlNow(): number {
    return this.host.ttlDomain === 'event' ? this.watermark : this.currentProcessingTime;
  }

  /** When a write happens: the event's time (never behind the watermark), or the processing time. */
  private ttlStamp(): number {
    if (this.host.ttlDomain === 'processing') return this.currentProcessingTime;
    return Number.isNaN(this.timestamp) ? this.watermark : Math.max(this.timestamp, this.watermark);
  }

  private clearIn(container: Map<string, unknown> | undefined, name: string): void {
    this.assertInCall();
    const old = container?.get(name);
    if (container === undefined || old === undefined) return;
    container.delete(name);
    this.undo.push(() => container.set(name, old));
  }

  private registerTimer(heap: TimerHeap<KeyTimer>, time: number): void {
    this.assertInCall();
    // A key's timers are told apart by its state key (unique across key-groups: the key decides its group).
    const id = this.sk;
    if (heap.has(time, id)) return;
    const past = heap === this.host.eventTimers && time <= this.watermark;
    heap.register(time, id, past ? { kg: this.kg, sk: this.sk, key: this.key, behind: this.watermark } : { kg: this.kg, sk: this.sk, key: this.key });
    this.undo.push(() => heap.delete(time, id));
  }

  private deleteTimer(heap: TimerHeap<KeyTimer>, time: number): void {
    this.assertInCall();
    const id = this.sk;
    const payload = heap.get(time, id);
    if (payload === undefined) return;
    heap.delete(time, id);
    this.undo.push(() => heap.register(time, id, payload));
  }

  /**
   * A call's changes are undone if it fails and are in the next checkpoint; a change made once the call
   * has returned (after an await in an async function) would be neither, and land on whichever key the
   * context serves by then.
   */
  private processingTimers(): TimerHeap<KeyTimer> {
    if (this.host.processingTime) return this.host.processingTimers;
    throw new Error('processing-time timers are not available in a later stage: its input is not in the write-ahead log, so a replay could not fire them at the same point; use event-time timers');
  }

  private assertInCall(): void {
    if (!this.inCall) throw new Error('state changed or emitted after its call returned (after an await?): process functions must be synchronous');
  }

  private writable(): KeyState {
    this.assertInCall();
    if (this.state === undefined) {
      this.state = newKeyState(this.key);
      this.host.store.set(this.kg, this.sk, this.state);
    }
    return this.state;
  }

  /** A key whose state is all cleared takes no memory. */
  private dropIfEmpty(): void {
    const s = this.state;
    if (s !== undefined && isEmpty(s)) {
      this.host.store.delete(this.kg, this.sk);
      this.state = undefined;
    }
  }
}

/**
 * Empty `list` in place (a call's undo log and emits: three per call). `length = 0` is a call into the
 * runtime, about 35 ns even for an empty array; popping the few items a call leaves is a few ns.
 */
function empty(list: unknown[]): void {
  if (list.length > 16) list.length = 0;
  else while (list.length > 0) list.pop();
}

/** Why a value cannot be a result, or null: only what JSON can hold, checked by type alone (nested values are checked when encoded). */
export function unemittable(value: unknown): string | null {
  const type = typeof value;
  if (type !== 'undefined' && type !== 'function' && type !== 'symbol' && type !== 'bigint') return null;
  return `${type === 'undefined' ? 'undefined' : `a ${type}`}: emit a value JSON can hold (an object, array, string, number, boolean or null)`;
}
