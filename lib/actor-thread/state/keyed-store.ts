import { KeySlot, type Snapshotted } from '../../shared/codec/state-writer.js';
import type { StateKey } from '../../shared/keygroups.js';
import { dataOf, type StateStore } from './state-store.js';

/**
 * Keyed state in memory: one Map per key-group. A key's state keeps where its bytes are in the last snapshot
 * until the key is got or set again (whoever changes a key's state got or set it first): most keys of a large
 * state are idle between two checkpoints (an auction once its bidding is over), and a snapshot copies their
 * bytes instead of encoding them again.
 */
export class KeyedStore<S extends Snapshotted> implements StateStore<S> {
  private readonly groupMaps: Array<Map<StateKey, S> | undefined>;

  constructor(maxKeyGroups: number) {
    this.groupMaps = new Array(maxKeyGroups);
  }

  get(kg: number, key: StateKey): S | undefined {
    const state = this.groupMaps[kg]?.get(key);
    // Read first: most gets find no slot, and a load costs less than a store (with its write barrier).
    if (state?.snap !== undefined) state.snap = undefined;
    return state;
  }

  set(kg: number, key: StateKey, state: S): void {
    let group = this.groupMaps[kg];
    if (group === undefined) this.groupMaps[kg] = group = new Map();
    state.snap = undefined;
    group.set(key, state);
  }

  delete(kg: number, key: StateKey): void {
    this.groupMaps[kg]?.delete(key);
  }

  values(kg: number): Iterable<S> {
    return this.groupMaps[kg]?.values() ?? [];
  }

  snapshot(kg: number, data: (state: S) => unknown, reuse: boolean): unknown[] {
    if (!reuse) return dataOf(this.values(kg), data);
    const out: KeySlot[] = [];
    for (const state of this.values(kg)) {
      if (state.snap === undefined) {
        const d = data(state);
        if (d === null) continue;
        state.snap = new KeySlot(d);
      }
      out.push(state.snap);
    }
    return out;
  }
}
