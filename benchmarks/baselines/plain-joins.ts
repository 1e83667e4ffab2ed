/**
 * The join workloads' computation with no framework (see plain.ts): q3 (a regular join, with a TTL longer
 * than a run) and q8 (people who open an auction in the tumbling 10 s window they sign up in, one row per
 * person and window). Same semantics as keyflow: one watermark over
 * both inputs, max time - 2 s - 1; a window fires at end - 1; an event whose window has fired is late.
 */
import type { Auction, NexmarkEvent, Person } from '../../lib/nexmark/model.js';
import { Q3_CATEGORY, Q3_STATES, Q3_TTL_MS } from '../workloads/q3-join.js';

export type JoinWorkload = 'q3-join' | 'q8-window-join';
/** A prepared join input: a person (the left input) or an auction (the right). */
export type JoinValue = [side: 0, person: Person] | [side: 1, auction: Auction];

const WINDOW = 10_000;

export function isJoin(name: string): name is JoinWorkload {
  return name === 'q3-join' || name === 'q8-window-join';
}

/** The person or auction a join workload takes from an event, or undefined. */
export function prepareJoin(name: JoinWorkload, e: NexmarkEvent): JoinValue | undefined {
  if (e.kind === 'person') return name === 'q8-window-join' || Q3_STATES.includes(e.person.state) ? [0, e.person] : undefined;
  if (e.kind === 'auction') return name === 'q8-window-join' || e.auction.category === Q3_CATEGORY ? [1, e.auction] : undefined;
  return undefined;
}

export const joinKey = (v: JoinValue): number => (v[0] === 0 ? v[1].id : v[1].seller);

interface Kept<T> { time: number; value: T }
interface Sides { persons: Array<Kept<Person>>; auctions: Array<Kept<Auction>> }

export class PlainJoin {
  /** q3: each key's kept persons and auctions. q8: each window start's keys, with their persons and auctions. */
  private readonly kept = new Map<number, Sides>();
  private readonly windows = new Map<number, Map<number, Sides>>();
  private wm = -Infinity;
  late = 0;

  constructor(private readonly name: JoinWorkload, private readonly emit: (r: unknown) => void) {}

  add(v: JoinValue, wm: number): void {
    this.advance(wm);
    if (this.name === 'q3-join') this.joinNow(v);
    else this.keepInWindow(v);
  }

  /** q3: join with what the other input keeps for the key, then keep it (within its TTL). */
  private joinNow(v: JoinValue): void {
    const key = joinKey(v);
    let sides = this.kept.get(key);
    if (sides === undefined) this.kept.set(key, (sides = { persons: [], auctions: [] }));
    const time = v[1].dateTime;
    if (v[0] === 0) {
      for (const a of sides.auctions) if (a.time + Q3_TTL_MS > this.wm) this.emitQ3(v[1], a.value);
      if (time + Q3_TTL_MS > this.wm) sides.persons.push({ time, value: v[1] });
    } else {
      for (const p of sides.persons) if (p.time + Q3_TTL_MS > this.wm) this.emitQ3(p.value, v[1]);
      if (time + Q3_TTL_MS > this.wm) sides.auctions.push({ time, value: v[1] });
    }
  }

  private emitQ3(p: Person, a: Auction): void {
    this.emit({ name: p.name, city: p.city, state: p.state, id: a.id });
  }

  /** q8: keep it in its window, unless that has fired. */
  private keepInWindow(v: JoinValue): void {
    const time = v[1].dateTime;
    const start = time - (time % WINDOW);
    if (start + WINDOW - 1 <= this.wm) {
      this.late++;
      return;
    }
    let keys = this.windows.get(start);
    if (keys === undefined) this.windows.set(start, (keys = new Map()));
    const key = joinKey(v);
    let sides = keys.get(key);
    if (sides === undefined) keys.set(key, (sides = { persons: [], auctions: [] }));
    if (v[0] === 0) sides.persons.push({ time, value: v[1] });
    else sides.auctions.push({ time, value: v[1] });
  }

  /** q8: fire every window whose end the watermark has passed, in order: a row per person with an auction there. */
  advance(wm: number): void {
    if (wm <= this.wm) return;
    this.wm = wm;
    if (this.name !== 'q8-window-join') return;
    for (const start of [...this.windows.keys()].sort((a, b) => a - b)) {
      if (start + WINDOW - 1 > wm) break;
      for (const [key, { persons, auctions }] of this.windows.get(start)!) {
        if (persons.length > 0 && auctions.length > 0) this.emit({ key, windowStart: start, windowEnd: start + WINDOW, name: persons[0].value.name });
      }
      this.windows.delete(start);
    }
  }

  finish(): void {
    this.advance(Infinity);
  }
}
