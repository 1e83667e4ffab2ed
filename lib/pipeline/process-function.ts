import type { OperatorListState, OperatorStateOptions } from '../actor-thread/process/operator-state.js';
import type { StateOptions } from '../actor-thread/process/ttl.js';

/** Keyed state and timers for one key inside a process function, as Flink's KeyedProcessFunction. */
export interface ValueState<T> {
  get(): T | undefined;
  set(value: T): void;
  clear(): void;
}

export interface MapState<K, V> {
  get(key: K): V | undefined;
  has(key: K): boolean;
  set(key: K, value: V): void;
  delete(key: K): void;
  keys(): K[];
  entries(): Array<[K, V]>;
  readonly size: number;
  clear(): void;
}

export interface ListState<T> {
  add(value: T): void;
  get(): readonly T[];
  clear(): void;
}

export interface TimerControl {
  /** Call onTimer(time) once the watermark reaches `time` (once per key and time). */
  registerEventTime(time: number): void;
  deleteEventTime(time: number): void;
  /**
   * Call onTimer(time) once the actor's wall clock (ctx.currentProcessingTime, ms since the epoch)
   * reaches `time`, also when no input comes. Pending ones survive recovery and fire late if due.
   */
  registerProcessingTime(time: number): void;
  deleteProcessingTime(time: number): void;
}

/** Which clock a timer (or a TTL) follows. */
export type TimeDomain = 'event' | 'processing';

export interface ProcessContext<Out = unknown> {
  readonly key: unknown;
  /** The event's time (NaN in onTimer and in pipelines without eventTime()). */
  readonly timestamp: number;
  readonly watermark: number;
  /**
   * The actor's wall clock. It is logged in the actor's WAL, so a replay after a crash sees the same
   * times as the first run did.
   */
  readonly currentProcessingTime: number;
  /** In onTimer: which kind of timer fired ('event' in onEvent). */
  readonly timeDomain: TimeDomain;
  /** Keyed state by name; `{ ttl }` makes its entries expire (see StateTtl). */
  value<T>(name: string, options?: StateOptions): ValueState<T>;
  map<K, V>(name: string, options?: StateOptions): MapState<K, V>;
  list<T>(name: string, options?: StateOptions): ListState<T>;
  /**
   * A list that belongs to this actor, not to a key (see OperatorState): snapshotted with the actor and,
   * when the worker count changes, split evenly among the new actors (default) or given to each whole.
   */
  operatorList<T>(name: string, options?: OperatorStateOptions): OperatorListState<T>;
  readonly timers: TimerControl;
  emit(out: Out): void;
}

/**
 * What `.process()` takes. If a call throws, its state writes, timer changes and emits are undone and
 * the event goes to the errors output, so a bad event never leaves half-applied state.
 */
export interface ProcessFunction<E = any, Out = unknown> {
  onEvent(event: E, ctx: ProcessContext<Out>): void;
  onTimer?(time: number, ctx: ProcessContext<Out>): void;
}

/**
 * Marks a process function whose event-time timers only drop state and emit nothing (the joins' expiry).
 * The watermark goes to +∞ only at the end of input, after the run's last checkpoint, when the state goes
 * with the run: such timers do not fire then, as a TTL's reclaiming does not.
 */
const EXPIRY_TIMERS = Symbol('keyflow.expiryTimers');

/** `fn`, marked as one whose event-time timers only drop state (see EXPIRY_TIMERS). */
export function withExpiryTimers<F extends ProcessFunction>(fn: F): F {
  return Object.assign(fn, { [EXPIRY_TIMERS]: true });
}

export function hasExpiryTimers(fn: ProcessFunction): boolean {
  return (fn as { [EXPIRY_TIMERS]?: boolean })[EXPIRY_TIMERS] === true;
}

/**
 * What a state handle of the process context gives for stored() (join-input.ts): its entries as stored, in
 * place (the Map of a MapState, the array of a ListState; undefined if it holds none).
 */
export const STORED = Symbol('keyflow.stored');
