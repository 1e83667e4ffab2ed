import { rmSync } from 'node:fs';
import { lmdbDir } from '../../shared/durability/state-layout.js';
import { KeyedStore } from './keyed-store.js';
import { LmdbStore } from './lmdb-store.js';
import type { StoreFactory } from './state-store.js';

export type StateBackend = 'memory' | 'lmdb';

/** What an actor needs to open its stores (part of its ActorInit). */
export type BackendConfig = { kind: 'memory' } | { kind: 'lmdb'; dir: string; cacheKeys: number };

/** An actor's opened backend: one store factory per pipeline, and how to let go of it when the run ends. */
export interface Backend {
  stores(pipe: number): StoreFactory;
  close(): Promise<void>;
}

/**
 * An actor's backend. LMDB: one environment per actor, emptied first (state comes from the snapshots and
 * the WAL), one database per pipeline; lmdb-js is loaded only then.
 */
export async function openBackend(config: BackendConfig, actor: number, maxKeyGroups: number): Promise<Backend> {
  if (config.kind === 'memory') return { stores: () => () => new KeyedStore(maxKeyGroups), close: () => Promise.resolve() };
  const { open } = await import('lmdb');
  const path = lmdbDir(config.dir, actor);
  rmSync(path, { recursive: true, force: true });
  const root = open({ path, noSync: true, maxDbs: 256 });
  return {
    stores: (pipe) => (codec) => LmdbStore.open(root, `pipeline-${pipe}`, codec, config.cacheKeys),
    // Its databases close with it; the engine removes the directory once the actors have let go.
    close: () => root.close(),
  };
}
