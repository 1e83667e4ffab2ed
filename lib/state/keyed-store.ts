import type { StateKey } from '../keygroups.js';

/**
 * Keyed state of one operator in one actor, partitioned by key-group so that a group's state can be
 * snapshotted and moved on its own. Only the owning actor's thread ever touches it.
 */
export class KeyedStore<S> {
  private readonly groups: Array<Map<StateKey, S> | undefined>;

  constructor(maxKeyGroups: number) {
    this.groups = new Array(maxKeyGroups);
  }

  get(kg: number, key: StateKey): S | undefined {
    return this.groups[kg]?.get(key);
  }

  set(kg: number, key: StateKey, state: S): void {
    let group = this.groups[kg];
    if (group === undefined) this.groups[kg] = group = new Map();
    group.set(key, state);
  }

  delete(kg: number, key: StateKey): void {
    this.groups[kg]?.delete(key);
  }

  /** Number of keys held, over all groups. */
  size(): number {
    let n = 0;
    for (const g of this.groups) if (g) n += g.size;
    return n;
  }
}
