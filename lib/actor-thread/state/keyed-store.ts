import type { StateKey } from '../../shared/keygroups.js';
import type { StateStore } from './state-store.js';

/** Keyed state in memory: one Map per key-group. */
export class KeyedStore<S> implements StateStore<S> {
  private readonly groupMaps: Array<Map<StateKey, S> | undefined>;

  constructor(maxKeyGroups: number) {
    this.groupMaps = new Array(maxKeyGroups);
  }

  get(kg: number, key: StateKey): S | undefined {
    return this.groupMaps[kg]?.get(key);
  }

  set(kg: number, key: StateKey, state: S): void {
    let group = this.groupMaps[kg];
    if (group === undefined) this.groupMaps[kg] = group = new Map();
    group.set(key, state);
  }

  delete(kg: number, key: StateKey): void {
    this.groupMaps[kg]?.delete(key);
  }

  values(kg: number): Iterable<S> {
    return this.groupMaps[kg]?.values() ?? [];
  }
}
