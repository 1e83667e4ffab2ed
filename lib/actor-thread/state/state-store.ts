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
}

/**
 * How one key's state `S` becomes plain (cbor-encodable) data `D` and back: for snapshots and for LMDB,
 * which give `decode` what `encode` wrote.
 */
export interface StateCodec<S, D = unknown> {
  encode(state: S): D;
  decode(data: D): S;
}

/** A key-group's state as snapshot data (each key through the codec), or undefined if it holds none. */
export function groupData<S, D>(store: StateStore<S>, kg: number, codec: StateCodec<S, D>): D[] | undefined {
  const keys = [...store.values(kg)].map((s) => codec.encode(s));
  return keys.length > 0 ? keys : undefined;
}

/** Makes an operator's store (one per operator in an actor). */
export type StoreFactory = <S>(codec: StateCodec<S>) => StateStore<S>;
