import type { SelfWriting, Snapshotted } from '../../shared/codec/state-writer.js';
import type { StateKey } from '../../shared/keygroups.js';

/**
 * Where an operator keeps its keyed state, partitioned by key-group (so a group can be snapshotted and
 * moved on its own). Only the owning actor's thread touches it. An operator may change a state object
 * it got in place: the store owns it until `delete`.
 *
 * Two backends: in memory (KeyedStore), and LMDB with a write-back cache of recently used keys
 * (LmdbStore), for state larger than the heap.
 */
export interface StateStore<S> {
  get(kg: number, key: StateKey): S | undefined;
  set(kg: number, key: StateKey, state: S): void;
  delete(kg: number, key: StateKey): void;
  /** Every key's state in a key-group (read-only use: snapshots). */
  values(kg: number): Iterable<S>;
  /**
   * A key-group's keys for a snapshot: each key's `data(state)` (null: left out). With `reuse`, a store may
   * give a key as a KeySlot, which a StateWriter writes with the bytes the key had in the last snapshot if it
   * has not been got or set since (every change to a key's state comes after a get or set of it).
   */
  snapshot(kg: number, data: (state: S) => unknown, reuse: boolean): unknown[];
}

/**
 * How one key's state `S` becomes plain (cbor-encodable) data `D` and back: for snapshots and for LMDB,
 * which give `decode` what `encode` wrote. `encode` may give a SelfWriting that writes itself as `D` from
 * the state in place, so what it gives goes to a StateWriter at once, before the state changes.
 */
export interface StateCodec<S, D = unknown> {
  encode(state: S): D | SelfWriting;
  decode(data: D): S;
}

/** Each key's `data(state)`, from `states` (null: left out). */
export function dataOf<S>(states: Iterable<S>, data: (state: S) => unknown): unknown[] {
  const out: unknown[] = [];
  for (const s of states) {
    const d = data(s);
    if (d !== null) out.push(d);
  }
  return out;
}

/** Makes an operator's store (one per operator in an actor). */
export type StoreFactory = <S extends Snapshotted>(codec: StateCodec<S>) => StateStore<S>;
