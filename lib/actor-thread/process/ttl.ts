import { addExtension } from '../../shared/codec/cbor.js';

/**
 * State time-to-live, as Flink's StateTtlConfig: an entry written at time T expires at T + ttlMs and is
 * never returned after that. With `update: 'onReadAndWrite'` a read also restarts its life.
 *
 * Time is event time (the watermark) in pipelines with eventTime(), so what expires is the same with
 * any worker count and after recovery; otherwise it is the actor's processing-time clock, which the
 * actor logs in its WAL so that replay sees the same times.
 */
export interface StateTtl {
  ttlMs: number;
  /** When the clock restarts: on writes only (default), or on reads too. */
  update?: 'onWrite' | 'onReadAndWrite';
}

export interface StateOptions {
  ttl?: StateTtl;
}

/** A state entry with a time-to-live: a value, list element or map entry with its expiry time. */
export class Expiring {
  constructor(public value: unknown, public expiresAt: number) {}
}

// Snapshots carry expiry times with the entries (cbor tag in the private-use range).
addExtension({
  Class: Expiring,
  tag: 40501,
  encode: (e: Expiring, encode: (v: unknown) => Uint8Array) => encode([e.value, e.expiresAt]),
  decode: ([value, expiresAt]: [unknown, number]) => new Expiring(value, expiresAt),
});

/** The entry's value, or EXPIRED if it is an Expiring past its time. */
export const EXPIRED: unique symbol = Symbol('expired');

export function liveValue(raw: unknown, now: number): unknown {
  if (!(raw instanceof Expiring)) return raw;
  return raw.expiresAt <= now ? EXPIRED : raw.value;
}

/** Expired entries are reclaimed in batches of this much time, so one key is queued once per span. */
export const RECLAIM_GRANULARITY_MS = 1000;

export function reclaimTime(expiresAt: number): number {
  return Math.ceil(expiresAt / RECLAIM_GRANULARITY_MS) * RECLAIM_GRANULARITY_MS;
}

export function ttlProblem(name: string, options: StateOptions | undefined): string | null {
  const ttl = options?.ttl;
  if (ttl === undefined) return null;
  if (!(Number.isFinite(ttl.ttlMs) && ttl.ttlMs > 0)) return `state '${name}': ttl.ttlMs must be a number > 0, got ${ttl.ttlMs}`;
  if (ttl.update !== undefined && ttl.update !== 'onWrite' && ttl.update !== 'onReadAndWrite') {
    return `state '${name}': ttl.update must be 'onWrite' or 'onReadAndWrite', got ${String(ttl.update)}`;
  }
  return null;
}
