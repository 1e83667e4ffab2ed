import type { StateKey } from '../keygroups.js';

/**
 * Keyed state of one operator in one actor, partitioned by key-group so that a group's state can be
 * snapshotted and moved on its own. Only the owning actor's thread ever touches it.
 */
export class KeyedStore<S> {
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

  /** One key-group's map (undefined if it never held state). */
  group(kg: number): Map<StateKey, S> | undefined {
    return this.groupMaps[kg];
  }
}
