import { stateDecoder } from '../../shared/codec/cbor.js';
import { StateWriter } from '../../shared/codec/state-writer.js';
import type { Database, RootDatabase } from 'lmdb';
import type { StateKey } from '../../shared/keygroups.js';
import { dataOf, type StateCodec, type StateStore } from './state-store.js';

/** cbor-x's bytes, written without its encoder (see state-writer.ts). */
const writer = new StateWriter();
/** Byte arrays in state read back are copies, never views into LMDB's memory. */
const decoder = stateDecoder();

/**
 * Keyed state in LMDB (lmdb-js), so it can outgrow the heap: the `cacheKeys` most recently used keys
 * live as objects in memory, and the rest as cbor in the database, which the OS pages in and out.
 *
 * Operators change the objects they get in place, so every cached key counts as changed: it is written
 * back when it leaves the cache, in batches of one write transaction. The database is a spill area, not
 * the durable copy: snapshots and the WAL are (it is emptied at start and filled by the restore), so
 * it is opened without fsync.
 */
export class LmdbStore<S> implements StateStore<S> {
  /** Recently used keys, least recent first: id → state. */
  private readonly cache = new Map<string, { kg: number; state: S }>();
  /** The cached ids of each key-group (for snapshots, which go a group at a time). */
  private readonly cachedByGroup = new Map<number, Set<string>>();
  /** Keys deleted while the database may still hold them (removed at the next write-back). */
  private readonly deleted = new Set<string>();

  constructor(private readonly db: Database<Buffer, Buffer>, private readonly codec: StateCodec<S>, private readonly cacheKeys: number) {}

  static open<S>(root: RootDatabase, name: string, codec: StateCodec<S>, cacheKeys: number): LmdbStore<S> {
    return new LmdbStore(root.openDB<Buffer, Buffer>({ name, encoding: 'binary', keyEncoding: 'binary' }), codec, cacheKeys);
  }

  get(kg: number, key: StateKey): S | undefined {
    const id = dbKey(kg, key);
    const hit = this.cache.get(id);
    if (hit !== undefined) {
      this.cache.delete(id); // to the most recent end
      this.cache.set(id, hit);
      return hit.state;
    }
    if (this.deleted.has(id)) return undefined;
    const bytes = this.db.getBinary(Buffer.from(id, 'utf8'));
    if (bytes === undefined) return undefined;
    const state = this.codec.decode(decoder.decode(bytes));
    this.remember(id, kg, state);
    return state;
  }

  set(kg: number, key: StateKey, state: S): void {
    const id = dbKey(kg, key);
    this.forget(id, kg);
    this.deleted.delete(id);
    this.remember(id, kg, state);
  }

  delete(kg: number, key: StateKey): void {
    const id = dbKey(kg, key);
    this.forget(id, kg);
    this.deleted.add(id);
  }

  /** Every key's data (`reuse` aside): a key read from the database is a new object each time. */
  snapshot(kg: number, data: (state: S) => unknown): unknown[] {
    return dataOf(this.values(kg), data);
  }

  *values(kg: number): IterableIterator<S> {
    const cached = [...(this.cachedByGroup.get(kg) ?? [])];
    for (const id of cached) yield this.cache.get(id)!.state;
    const skip = new Set(cached);
    const range = { start: Buffer.from(groupPrefix(kg), 'utf8'), end: Buffer.from(groupPrefix(kg + 1), 'utf8') };
    for (const { key, value } of this.db.getRange(range)) {
      const id = key.toString('utf8');
      if (skip.has(id) || this.deleted.has(id)) continue;
      yield this.codec.decode(decoder.decode(value));
    }
  }

  /** Keys held in memory now. */
  get cachedKeys(): number {
    return this.cache.size;
  }

  private remember(id: string, kg: number, state: S): void {
    this.cache.set(id, { kg, state });
    let ids = this.cachedByGroup.get(kg);
    if (ids === undefined) this.cachedByGroup.set(kg, (ids = new Set()));
    ids.add(id);
    if (this.cache.size > this.cacheKeys) this.writeBack(Math.max(1, this.cacheKeys >> 3));
  }

  private forget(id: string, kg: number): void {
    if (this.cache.delete(id)) this.cachedByGroup.get(kg)!.delete(id);
  }

  /** Move the `count` least recently used keys to the database, with pending deletions, in one transaction. */
  private writeBack(count: number): void {
    const evicted: Array<[string, S]> = [];
    for (const [id, entry] of this.cache) {
      if (evicted.length >= count) break;
      evicted.push([id, entry.state]);
      this.cachedByGroup.get(entry.kg)!.delete(id);
    }
    for (const [id] of evicted) this.cache.delete(id);
    const deleted = [...this.deleted];
    this.deleted.clear();
    // Inside transactionSync each write is done when the call returns; the promise it returns is already settled.
    this.db.transactionSync(() => {
      for (const id of deleted) void this.db.remove(Buffer.from(id, 'utf8'));
      for (const [id, state] of evicted) {
        // A state with no entries left encodes as null: nothing to keep.
        const data = this.codec.encode(state);
        if (data === null) void this.db.remove(Buffer.from(id, 'utf8'));
        else void this.db.put(Buffer.from(id, 'utf8'), writer.encode(data));
      }
    });
  }
}

const TAGS = { string: 's', number: 'n', boolean: 't', bigint: 'i' } as const;

/**
 * A key's id: the key-group as two chars, big-endian (so a group's keys are one range: UTF-8 keeps
 * code point order), a type tag, and the key. Stored UTF-8 encoded.
 */
function dbKey(kg: number, key: StateKey): string {
  return groupPrefix(kg) + TAGS[typeof key as keyof typeof TAGS] + String(key);
}

function groupPrefix(kg: number): string {
  return String.fromCharCode(kg >> 8, kg & 0xff);
}
