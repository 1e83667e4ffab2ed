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

  /** The key-groups that hold state, with their maps. */
  *groups(): IterableIterator<[number, Map<StateKey, S>]> {
    for (let kg = 0; kg < this.groupMaps.length; kg++) {
      const g = this.groupMaps[kg];
      if (g !== undefined && g.size > 0) yield [kg, g];
    }
  }

  /** Number of keys held, over all groups. */
  size(): number {
    let n = 0;
    for (const g of this.groupMaps) if (g) n += g.size;
    return n;
  }
}
