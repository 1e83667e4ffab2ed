/**
 * The baselines' computation, with no framework: each workload as straightforward JavaScript over a
 * stream of events, applied in order on one thread. `Plain` runs one workload incrementally, so the
 * single-threaded baseline feeds it everything and the postMessage baseline gives each worker its share.
 * Same semantics as keyflow: watermark = max time - 2 s - 1, windows fire at end - 1, later events are late.
 */
import type { Bid, NexmarkEvent } from '../../lib/nexmark/model.js';
import { PlainJoin, isJoin, joinKey, prepareJoin, type JoinValue, type JoinWorkload } from './plain-joins.js';
import { PlainAuctions, auctionKey, isAuctionWorkload, prepareAuctions, type AuctionValue, type AuctionWorkload } from './plain-auctions.js';

export type WorkloadName = 'q0' | 'q1' | 'q2' | 'tumbling-bids' | 'q5-sliding' | 'q5-hot-items' | 'q7-highest' | 'q11-sessions' | JoinWorkload | AuctionWorkload;

/** An auction or bidder id, or 'all' for the single window per period of q7 and q5-hot-items. */
type Key = number | string;

interface Window {
  key: Key; start: number; end: number; bids: number; volume: number; top: number; highest: Bid | null;
  /** q5-hot-items only: bids per auction, in order of each auction's first bid. */
  counts: Map<number, number> | null;
}

const OUT_OF_ORDER = 2_000;

/** The part of a workload before keying: which events it takes (undefined for one it drops) and how it maps them. */
export function prepare(name: WorkloadName, e: NexmarkEvent): unknown {
  if (name === 'q0') return e;
  if (isJoin(name)) return prepareJoin(name, e);
  if (isAuctionWorkload(name)) return prepareAuctions(e);
  if (e.kind !== 'bid') return undefined;
  const b = e.bid;
  if (name === 'q1') return { auction: b.auction, bidder: b.bidder, price: Math.round(b.price * 0.908), dateTime: b.dateTime };
  if (name === 'q2') return b.auction % 123 === 0 ? { auction: b.auction, price: b.price } : undefined;
  return b;
}

/** A prepared value's key (see prepare). */
export function keyOf(name: WorkloadName, v: unknown): Key {
  if (isJoin(name)) return joinKey(v as JoinValue);
  if (isAuctionWorkload(name)) return auctionKey(v as AuctionValue);
  const b = v as Bid;
  return name === 'q11-sessions' ? b.bidder : name === 'q7-highest' || name === 'q5-hot-items' ? 'all' : b.auction;
}

/** A prepared value's event time (see prepare). */
export function timeOf(name: WorkloadName, v: unknown): number {
  return isJoin(name) || isAuctionWorkload(name) ? (v as JoinValue | AuctionValue)[1].dateTime : (v as Bid).dateTime;
}

export class Plain {
  private readonly windows = new Map<string, Window>();
  private readonly sessions = new Map<Key, Window[]>();
  /** Open windows by end time, and the ends in ascending order: firing touches only what is due. */
  private readonly byEnd = new Map<number, Set<Window>>();
  private readonly ends: number[] = [];
  private wm = -Infinity;
  private maxTime = -Infinity;
  /** The join workloads, and q4/q9, in a class of their own. */
  private readonly join: PlainJoin | PlainAuctions | null;
  late = 0;

  constructor(private readonly name: WorkloadName, private readonly emit: (r: unknown) => void) {
    this.join = isJoin(name) ? new PlainJoin(name, emit) : isAuctionWorkload(name) ? new PlainAuctions(name, emit) : null;
  }

  /** One prepared value (see prepare), in source order; `wm` is the watermark just before it. */
  add(value: unknown, wm?: number): void {
    const name = this.name;
    if (name === 'q0' || name === 'q1' || name === 'q2') {
      this.emit(value);
      return;
    }
    const t = timeOf(name, value);
    if (wm === undefined) {
      wm = this.maxTime - OUT_OF_ORDER - 1;
      if (t > this.maxTime) this.maxTime = t;
    }
    // A value its own workload prepared (see prepare).
    if (this.join !== null) return this.join.add(value as never, wm);
    const b = value as Bid;
    this.advance(wm);
    const key = keyOf(name, b);
    if (name === 'q11-sessions') return this.addSession(key, b);
    const size = 10_000;
    const slide = name === 'q5-sliding' || name === 'q5-hot-items' ? 2_000 : size;
    let any = false;
    for (let start = t - (t % slide); start > t - size; start -= slide) {
      if (start + size - 1 <= this.wm) continue;
      any = true;
      const id = `${key}|${start}`;
      let w = this.windows.get(id);
      if (w === undefined) {
        this.windows.set(id, (w = { key, start, end: start + size, bids: 0, volume: 0, top: -Infinity, highest: null, counts: name === 'q5-hot-items' ? new Map() : null }));
        this.schedule(w);
      }
      w.bids++;
      w.volume += b.price;
      if (b.price > w.top) w.top = b.price;
      if (w.highest === null || b.price > w.highest.price) w.highest = b;
      if (w.counts !== null) w.counts.set(b.auction, (w.counts.get(b.auction) ?? 0) + 1);
    }
    if (!any) this.late++;
  }

  /** Fire every window whose end the watermark has passed. */
  advance(wm: number): void {
    if (this.join !== null) return this.join.advance(wm);
    if (wm <= this.wm) return;
    this.wm = wm;
    while (this.ends.length > 0 && this.ends[0] - 1 <= wm) {
      const end = this.ends.shift()!;
      for (const w of this.byEnd.get(end)!) {
        this.fire(w);
        if (this.name === 'q11-sessions') {
          const open = this.sessions.get(w.key)!.filter((s) => s !== w);
          if (open.length === 0) this.sessions.delete(w.key);
          else this.sessions.set(w.key, open);
        } else {
          this.windows.delete(`${w.key}|${w.start}`);
        }
      }
      this.byEnd.delete(end);
    }
  }

  private schedule(w: Window): void {
    let due = this.byEnd.get(w.end);
    if (due === undefined) {
      this.byEnd.set(w.end, (due = new Set()));
      let lo = 0;
      let hi = this.ends.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.ends[mid] < w.end) lo = mid + 1;
        else hi = mid;
      }
      this.ends.splice(lo, 0, w.end);
    }
    due.add(w);
  }

  private unschedule(w: Window): void {
    this.byEnd.get(w.end)?.delete(w);
  }

  finish(): void {
    this.advance(Infinity);
  }

  private addSession(key: Key, b: Bid): void {
    const list = this.sessions.get(key) ?? [];
    let start = b.dateTime;
    let end = b.dateTime + 10_000;
    const touching = list.filter((s) => s.start <= end && start <= s.end);
    for (const s of touching) { start = Math.min(start, s.start); end = Math.max(end, s.end); }
    if (end - 1 <= this.wm) {
      this.late++;
      return;
    }
    const merged: Window = { key, start, end, bids: 1, volume: 0, top: 0, highest: null, counts: null };
    for (const s of touching) {
      merged.bids += s.bids;
      this.unschedule(s);
    }
    this.sessions.set(key, [...list.filter((s) => !touching.includes(s)), merged]);
    this.schedule(merged);
  }

  private fire(w: Window): void {
    const base = { key: w.key, windowStart: w.start, windowEnd: w.end };
    if (this.name === 'tumbling-bids') this.emit({ ...base, bids: w.bids, volume: w.volume, top: w.top });
    else if (this.name === 'q7-highest') this.emit({ ...base, highest: w.highest });
    else if (this.name === 'q5-hot-items') this.emit({ ...base, hot: hottest(w.counts!) });
    else this.emit({ ...base, bids: w.bids });
  }
}

/** The auction with the most bids; a tie to the one bid on first (the map's order). */
function hottest(counts: Map<number, number>): Array<{ value: number; count: number }> {
  let best: { value: number; count: number } | null = null;
  for (const [value, count] of counts) if (best === null || count > best.count) best = { value, count };
  return best === null ? [] : [best];
}
