import { codes, describeThrown } from '../errors.js';
import { stateKeyOf, type StateKey } from '../keygroups.js';
import { KeyedStore } from '../state/keyed-store.js';
import type { ListState, MapState, ProcessContext, ProcessFunction, ValueState } from '../state/process-function.js';
import { TimerService } from '../state/timers.js';
import { TIMER_SOURCE, type Operator, type OperatorOutput } from './operator.js';

interface KeyState {
  key: unknown;
  values: Map<string, unknown>;
  maps: Map<string, Map<unknown, unknown>>;
  lists: Map<string, unknown[]>;
}

interface KeyTimer {
  kg: number;
  sk: StateKey;
  key: unknown;
}

const timerId = (kg: number, sk: StateKey) => `${kg}\u0000${typeof sk}\u0000${String(sk)}`;

/**
 * A keyed process function with value/map/list state and event-time timers, as Flink's
 * KeyedProcessFunction. Each call is a transaction: if onEvent/onTimer throws, an undo log reverts its
 * state writes and timer changes and its emits are discarded.
 */
export class ProcessOperator implements Operator {
  private readonly store: KeyedStore<KeyState>;
  private readonly timers = new TimerService<KeyTimer>();
  private readonly ctx: Context;

  constructor(private readonly fn: ProcessFunction, private readonly out: OperatorOutput, maxKeyGroups: number) {
    this.store = new KeyedStore(maxKeyGroups);
    this.ctx = new Context(this.store, this.timers);
  }

  onEvent(kg: number, key: unknown, sk: StateKey, ts: number, wm: number, src: number, pos: number, _seq: number, event: unknown): void {
    this.advance(wm);
    const ctx = this.ctx;
    ctx.enter(kg, sk, key, ts);
    try {
      this.fn.onEvent(event, ctx);
    } catch (err) {
      ctx.rollback();
      this.out.problem({ code: codes.USER_FUNCTION, stage: 'process', detail: describeThrown(err), key, event }, kg, src, pos);
      return;
    }
    ctx.commit(this.out);
  }

  /** Timers per key-group as they were at the barrier (a group's timers change only after touch(kg)). */
  private frozenTimers: Map<number, Array<[number, unknown]>> | null = null;

  beginSnapshot(): void {
    const timers = new Map<number, Array<[number, unknown]>>();
    for (const [time, , t] of this.timers.entries()) {
      let list = timers.get(t.kg);
      if (list === undefined) timers.set(t.kg, (list = []));
      list.push([time, t.key]);
    }
    this.frozenTimers = timers;
  }

  /** A key-group's keys with their value/map/list state, and its timers as [time, key]. */
  snapshotGroup(kg: number): unknown {
    const group = this.store.group(kg);
    const timers = this.frozenTimers?.get(kg) ?? [];
    if ((group === undefined || group.size === 0) && timers.length === 0) return undefined;
    const keys = [...(group?.values() ?? [])].map((s) => [s.key, [...s.values], [...s.maps].map(([n, m]) => [n, [...m]]), [...s.lists]]);
    return { keys, timers };
  }

  restore(kg: number, state: unknown): void {
    const { keys, timers } = state as { keys: Array<[unknown, Array<[string, unknown]>, Array<[string, Array<[unknown, unknown]>]>, Array<[string, unknown[]]>]>; timers: Array<[number, unknown]> };
    for (const [key, values, maps, lists] of keys) {
      this.store.set(kg, stateKeyOf(key), { key, values: new Map(values), maps: new Map(maps.map(([n, m]) => [n, new Map(m)])), lists: new Map(lists) });
    }
    for (const [time, key] of timers) {
      const sk = stateKeyOf(key);
      this.timers.register(time, timerId(kg, sk), { kg, sk, key });
    }
  }

  restoreWatermark(wm: number): void {
    this.ctx.watermark = wm;
  }

  /** The key's value, map and list state by name. */
  query(kg: number, sk: StateKey): unknown {
    const s = this.store.get(kg, sk);
    if (s === undefined) return undefined;
    return {
      key: s.key,
      values: Object.fromEntries(s.values),
      maps: Object.fromEntries([...s.maps].map(([name, m]) => [name, [...m]])),
      lists: Object.fromEntries([...s.lists].map(([name, l]) => [name, [...l]])),
    };
  }

  advance(wm: number): void {
    if (wm <= this.ctx.watermark) return;
    this.ctx.watermark = wm;
    this.timers.advance(wm, this.fire);
  }

  private readonly fire = (time: number, t: KeyTimer): void => {
    const onTimer = this.fn.onTimer;
    if (typeof onTimer !== 'function') return;
    const ctx = this.ctx;
    this.out.touch(t.kg);
    ctx.enter(t.kg, t.sk, t.key, NaN);
    try {
      onTimer.call(this.fn, time, ctx);
    } catch (err) {
      ctx.rollback();
      this.out.problem({ code: codes.USER_FUNCTION, stage: 'onTimer', detail: describeThrown(err), key: t.key }, t.kg, TIMER_SOURCE, time);
      return;
    }
    ctx.commit(this.out);
  };
}

class Context implements ProcessContext {
  key: unknown = undefined;
  timestamp = NaN;
  watermark = -Infinity;
  private kg = 0;
  private sk: StateKey = '';
  private state: KeyState | undefined;
  private readonly undo: Array<() => void> = [];
  private readonly emitted: unknown[] = [];
  private readonly valueHandles = new Map<string, ValueState<unknown>>();
  private readonly mapHandles = new Map<string, MapState<unknown, unknown>>();
  private readonly listHandles = new Map<string, ListState<unknown>>();
  readonly timers;

  constructor(private readonly store: KeyedStore<KeyState>, timerService: TimerService<KeyTimer>) {
    const self = this;
    this.timers = {
      registerEventTime(time: number) {
        const id = timerId(self.kg, self.sk);
        if (timerService.has(time, id)) return;
        timerService.register(time, id, { kg: self.kg, sk: self.sk, key: self.key });
        self.undo.push(() => timerService.delete(time, id));
      },
      deleteEventTime(time: number) {
        const id = timerId(self.kg, self.sk);
        if (!timerService.has(time, id)) return;
        const payload = { kg: self.kg, sk: self.sk, key: self.key };
        timerService.delete(time, id);
        self.undo.push(() => timerService.register(time, id, payload));
      },
    };
  }

  enter(kg: number, sk: StateKey, key: unknown, timestamp: number): void {
    this.kg = kg;
    this.sk = sk;
    this.key = key;
    this.timestamp = timestamp;
    this.state = this.store.get(kg, sk);
    this.undo.length = 0;
    this.emitted.length = 0;
  }

  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]();
    this.undo.length = 0;
    this.emitted.length = 0;
    this.dropIfEmpty();
  }

  commit(out: OperatorOutput): void {
    for (const e of this.emitted) out.result(this.kg, e);
    this.emitted.length = 0;
    this.undo.length = 0;
    this.dropIfEmpty();
  }

  emit(value: unknown): void {
    this.emitted.push(value);
  }

  value<T>(name: string): ValueState<T> {
    let h = this.valueHandles.get(name);
    if (h === undefined) {
      const self = this;
      h = {
        get: () => self.state?.values.get(name),
        set(v) {
          const values = self.writable().values;
          const had = values.has(name);
          const old = values.get(name);
          values.set(name, v);
          self.undo.push(() => (had ? values.set(name, old) : values.delete(name)));
        },
        clear() {
          const values = self.state?.values;
          if (!values?.has(name)) return;
          const old = values.get(name);
          values.delete(name);
          self.undo.push(() => values.set(name, old));
        },
      };
      this.valueHandles.set(name, h);
    }
    return h as ValueState<T>;
  }

  map<K, V>(name: string): MapState<K, V> {
    let h = this.mapHandles.get(name);
    if (h === undefined) {
      const self = this;
      const current = () => self.state?.maps.get(name);
      const writable = () => {
        const maps = self.writable().maps;
        let m = maps.get(name);
        if (m === undefined) {
          maps.set(name, (m = new Map()));
          self.undo.push(() => maps.delete(name));
        }
        return m;
      };
      h = {
        get: (k) => current()?.get(k),
        has: (k) => current()?.has(k) ?? false,
        keys: () => [...(current()?.keys() ?? [])],
        entries: () => [...(current()?.entries() ?? [])],
        get size() { return current()?.size ?? 0; },
        set(k, v) {
          const m = writable();
          const had = m.has(k);
          const old = m.get(k);
          m.set(k, v);
          self.undo.push(() => (had ? m.set(k, old) : m.delete(k)));
        },
        delete(k) {
          const m = current();
          if (!m?.has(k)) return;
          const old = m.get(k);
          m.delete(k);
          self.undo.push(() => m.set(k, old));
        },
        clear() {
          const maps = self.state?.maps;
          const m = maps?.get(name);
          if (!maps || !m) return;
          maps.delete(name);
          self.undo.push(() => maps.set(name, m));
        },
      };
      this.mapHandles.set(name, h);
    }
    return h as unknown as MapState<K, V>;
  }

  list<T>(name: string): ListState<T> {
    let h = this.listHandles.get(name);
    if (h === undefined) {
      const self = this;
      h = {
        get: () => self.state?.lists.get(name) ?? [],
        add(v) {
          const lists = self.writable().lists;
          let l = lists.get(name);
          if (l === undefined) {
            lists.set(name, (l = []));
            self.undo.push(() => lists.delete(name));
          }
          l.push(v);
          const list = l;
          self.undo.push(() => { list.pop(); });
        },
        clear() {
          const lists = self.state?.lists;
          const l = lists?.get(name);
          if (!lists || !l) return;
          lists.delete(name);
          self.undo.push(() => lists.set(name, l));
        },
      };
      this.listHandles.set(name, h);
    }
    return h as ListState<T>;
  }

  private writable(): KeyState {
    if (this.state === undefined) {
      this.state = { key: this.key, values: new Map(), maps: new Map(), lists: new Map() };
      this.store.set(this.kg, this.sk, this.state);
    }
    return this.state;
  }

  /** A key whose state is all cleared takes no memory. */
  private dropIfEmpty(): void {
    const s = this.state;
    if (s !== undefined && s.values.size === 0 && s.maps.size === 0 && s.lists.size === 0) {
      this.store.delete(this.kg, this.sk);
      this.state = undefined;
    }
  }
}
