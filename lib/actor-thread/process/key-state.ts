import { SelfWriting, type Snapshotted, type StateOut } from '../../shared/codec/state-writer.js';
import { EXPIRED, Expiring, liveValue } from './ttl.js';

/**
 * One key's state in a process function, by state name. Entries are stored raw: a value, or an
 * Expiring around it when its state has a TTL (per value, per map entry, per list element).
 */
export interface KeyState extends Snapshotted {
  key: unknown;
  values: Map<string, unknown>;
  maps: Map<string, Map<unknown, unknown>>;
  lists: Map<string, unknown[]>;
}

/** How a key's state is written in snapshots. */
export type KeyStateData = [key: unknown, values: Array<[string, unknown]>, maps: Array<[string, Array<[unknown, unknown]>]>, lists: Array<[string, unknown[]]>];

export function isEmpty(s: KeyState): boolean {
  return s.values.size === 0 && s.maps.size === 0 && s.lists.size === 0;
}

/**
 * Delete the entries expired at `now`. Returns the earliest expiry among the TTL entries left
 * (Infinity if none), for the next reclaim of this key.
 */
export function purgeExpired(s: KeyState, now: number): number {
  let earliest = Infinity;
  const keep = (raw: unknown): boolean => {
    if (!(raw instanceof Expiring)) return true;
    if (raw.expiresAt <= now) return false;
    if (raw.expiresAt < earliest) earliest = raw.expiresAt;
    return true;
  };
  for (const [name, raw] of s.values) if (!keep(raw)) s.values.delete(name);
  for (const [name, m] of s.maps) {
    for (const [k, raw] of m) if (!keep(raw)) m.delete(k);
    if (m.size === 0) s.maps.delete(name);
  }
  for (const [name, l] of s.lists) {
    const kept = l.filter(keep);
    if (kept.length === 0) s.lists.delete(name);
    else if (kept.length !== l.length) s.lists.set(name, kept);
  }
  return earliest;
}

/**
 * The key's state as snapshot data, leaving out entries expired at `now` (null if nothing is left). When
 * nothing can have expired (an operator without TTLs), it is the state itself, written as that data (see
 * WrittenAsData) by the StateWriter it goes to at once.
 */
export function toData(s: KeyState, now: number): KeyStateData | WrittenAsData | null {
  if (now === -Infinity) {
    const maps = nonEmptyMaps(s.maps);
    const lists = nonEmptyLists(s.lists);
    return s.values.size + maps + lists > 0 ? new WrittenAsData(s, maps, lists) : null;
  }
  const live = (raw: unknown) => !(raw instanceof Expiring) || raw.expiresAt > now;
  const values = [...s.values].filter(([, raw]) => live(raw));
  const maps = [...s.maps].map(([n, m]) => [n, [...m].filter(([, raw]) => live(raw))] as [string, Array<[unknown, unknown]>]).filter(([, m]) => m.length > 0);
  const lists = [...s.lists].map(([n, l]) => [n, l.filter(live)] as [string, unknown[]]).filter(([, l]) => l.length > 0);
  if (values.length === 0 && maps.length === 0 && lists.length === 0) return null;
  return [s.key, values, maps, lists];
}

/**
 * A key's state written as its KeyStateData, `[key, values, maps, lists]` with empty maps and lists left
 * out, byte for byte, read from the state's Maps in place: copying each Map into an array of entry arrays
 * first took a quarter of a snapshot of a join's state, most of it in garbage collection. A Map's entries
 * are written by a function of its own, as StateWriter keeps its loops apart (a loop compiled while it
 * runs must not slow the rest).
 */
export class WrittenAsData extends SelfWriting {
  /** `nonEmptyMaps` and `nonEmptyLists`: how many of the key's maps and lists hold anything (toData counted them). */
  constructor(private readonly s: KeyState, private readonly nonEmptyMaps: number, private readonly nonEmptyLists: number) {
    super();
  }

  writeTo(out: StateOut): void {
    const { key, values, maps, lists } = this.s;
    out.arrayHeader(4);
    out.value(key);
    writeEntries(out, values);
    out.arrayHeader(this.nonEmptyMaps);
    for (const [name, m] of maps) {
      if (m.size === 0) continue;
      out.arrayHeader(2);
      out.value(name);
      writeEntries(out, m);
    }
    out.arrayHeader(this.nonEmptyLists);
    for (const [name, l] of lists) {
      if (l.length === 0) continue;
      out.arrayHeader(2);
      out.value(name);
      out.value(l);
    }
  }
}

/** How many of a key's maps hold anything (an emptied one stays until its call ends). */
function nonEmptyMaps(maps: ReadonlyMap<string, ReadonlyMap<unknown, unknown>>): number {
  let n = 0;
  for (const m of maps.values()) if (m.size > 0) n++;
  return n;
}

/** How many of a key's lists hold anything. */
function nonEmptyLists(lists: ReadonlyMap<string, readonly unknown[]>): number {
  let n = 0;
  for (const l of lists.values()) if (l.length > 0) n++;
  return n;
}

/** A Map as an array of `[key, value]` entries. */
function writeEntries(out: StateOut, m: ReadonlyMap<unknown, unknown>): void {
  out.arrayHeader(m.size);
  for (const [k, v] of m) {
    out.arrayHeader(2);
    out.value(k);
    out.value(v);
  }
}

export function fromData([key, values, maps, lists]: KeyStateData): KeyState {
  const s = newKeyState(key);
  if (values.length > 0) s.values = new Map(values);
  if (maps.length > 0) s.maps = new Map(maps.map(([n, m]) => [n, new Map(m)]));
  if (lists.length > 0) s.lists = new Map(lists);
  return s;
}

/**
 * What a key's state holds of a kind (values, maps, lists) it has not written yet: one empty Map that every
 * key shares and nobody writes (see own()). Most keys write one kind (a join's keep maps only), and a
 * Map for each of the other two, made young and promoted with the key, cost q9 3-4 % per core and its
 * actor 10-40 MB.
 */
const UNWRITTEN = new Map<never, never>();

/** A key's state object: always made here, so that every one has the same fields (and shape). */
export function newKeyState(key: unknown): KeyState {
  return { key, values: UNWRITTEN, maps: UNWRITTEN, lists: UNWRITTEN, snap: undefined };
}

/** The key's own Map of `kind`, to write to (made on first use: see UNWRITTEN). */
export function own<K extends 'values' | 'maps' | 'lists'>(s: KeyState, kind: K): KeyState[K] {
  if (s[kind] === UNWRITTEN) s[kind] = new Map() as KeyState[K];
  return s[kind];
}

/** Every Expiring entry of a key (to queue its reclaim after a restore). */
export function* expiringEntries(s: KeyState): IterableIterator<Expiring> {
  for (const raw of s.values.values()) if (raw instanceof Expiring) yield raw;
  for (const m of s.maps.values()) for (const raw of m.values()) if (raw instanceof Expiring) yield raw;
  for (const l of s.lists.values()) for (const raw of l) if (raw instanceof Expiring) yield raw;
}

/** The key's live state in a readable form (engine.query), or undefined if none is live. */
export function readable(s: KeyState, now: number): { key: unknown; values: object; maps: object; lists: object } | undefined {
  const values: Record<string, unknown> = {};
  for (const [name, raw] of s.values) {
    const v = liveValue(raw, now);
    if (v !== EXPIRED) values[name] = v;
  }
  const maps: Record<string, Array<[unknown, unknown]>> = {};
  for (const [name, m] of s.maps) {
    const entries: Array<[unknown, unknown]> = [];
    for (const [k, raw] of m) {
      const v = liveValue(raw, now);
      if (v !== EXPIRED) entries.push([k, v]);
    }
    if (entries.length > 0) maps[name] = entries;
  }
  const lists: Record<string, unknown[]> = {};
  for (const [name, l] of s.lists) {
    const items = l.map((raw) => liveValue(raw, now)).filter((v) => v !== EXPIRED);
    if (items.length > 0) lists[name] = items;
  }
  if (Object.keys(values).length + Object.keys(maps).length + Object.keys(lists).length === 0) return undefined;
  return { key: s.key, values, maps, lists };
}
