/**
 * Operator state: lists that belong to an actor rather than to a key (Flink's operator ListState), such
 * as a buffer of records to write in bulk, or a position. They are snapshotted with the actor at each
 * barrier, and redistributed when the worker count changes:
 *
 * - 'split' (Flink's even-split redistribution): the old actors' lists are concatenated in actor order
 *   and cut into contiguous, even parts, one per new actor;
 * - 'union' (Flink's union redistribution): every actor gets the whole concatenation.
 *
 * With an unchanged worker count, each actor gets its own lists back, 'union' ones too (so a restart,
 * or the recovery run a rescale starts with, does not multiply them).
 */
export type Redistribution = 'split' | 'union';

export interface OperatorStateOptions {
  redistribute?: Redistribution;
}

export interface OperatorListState<T> {
  add(value: T): void;
  get(): readonly T[];
  /** Replace the whole list. */
  update(values: T[]): void;
  clear(): void;
}

/** One actor's operator lists, as snapshotted: name → [redistribution, items]. */
export type OperatorStateData = Record<string, [Redistribution, unknown[]]>;

export class OperatorState {
  readonly lists = new Map<string, { mode: Redistribution; items: unknown[] }>();

  /** The list called `name`, created empty on first use; changes are recorded on `undo`. */
  list<T>(name: string, mode: Redistribution, undo: Array<() => void>): OperatorListState<T> {
    let entry = this.lists.get(name);
    if (entry === undefined) this.lists.set(name, (entry = { mode, items: [] }));
    else if (entry.mode !== mode) throw new Error(`operator state '${name}' is declared both '${entry.mode}' and '${mode}'`);
    const e = entry;
    return {
      add(value) {
        e.items.push(value);
        undo.push(() => { e.items.pop(); });
      },
      get: () => e.items as T[],
      update(values) {
        const old = e.items;
        e.items = [...values];
        undo.push(() => (e.items = old));
      },
      clear() {
        const old = e.items;
        e.items = [];
        undo.push(() => (e.items = old));
      },
    };
  }

  /** The lists as they are now (copied: later changes do not reach a snapshot being taken). */
  snapshot(): OperatorStateData | null {
    if (this.lists.size === 0) return null;
    const data: OperatorStateData = {};
    for (const [name, { mode, items }] of this.lists) data[name] = [mode, [...items]];
    return data;
  }

  /** Take this actor's share of the old actors' lists (`parts`, in old actor order). */
  restore(parts: Array<OperatorStateData | null>, actor: number, workers: number): void {
    const names = new Set(parts.flatMap((p) => Object.keys(p ?? {})));
    for (const name of names) {
      const mode = parts.find((p) => p?.[name])![name][0];
      const all = parts.flatMap((p) => p?.[name]?.[1] ?? []);
      let items: unknown[];
      if (parts.length === workers) items = parts[actor]?.[name]?.[1] ?? [];
      else if (mode === 'union') items = all;
      else items = all.slice(Math.floor((actor * all.length) / workers), Math.floor(((actor + 1) * all.length) / workers));
      this.lists.set(name, { mode, items });
    }
  }

  /** Every list by name (engine.operatorState). */
  readable(): Record<string, unknown[]> {
    return Object.fromEntries([...this.lists].map(([name, { items }]) => [name, [...items]]));
  }
}
