import type { RingBuffers } from '../ring/layout.js';
import type { BackendConfig } from '../state/backends.js';

export type Durability = 'none' | 'batch' | 'sync';

/** What the main thread hands an actor worker at start (its workerData). */
export interface ActorInit {
  /** Marks a keyflow actor, so start() can refuse to run inside one. */
  keyflowActor: true;
  actor: number;
  workers: number;
  maxKeyGroups: number;
  pipelines: Array<{ name: string; moduleUrl: string }>;
  input: RingBuffers;
  output: RingBuffers;
  doorbell: SharedArrayBuffer;
  /** Where the actor records what it is doing, for the engine to read (see activity.ts). */
  activity: SharedArrayBuffer;
  frameRecords: number;
  failFast: boolean;
  stateBackend: BackendConfig;
  /** Durable state: where, how, and from which checkpoint to recover (absent: in memory only). */
  durable?: {
    stateDir: string;
    durability: Durability;
    syncEveryMs: number;
    /** The checkpoint to restore (its snapshots, then the WAL segments from it on); null for a fresh start. */
    restore: { checkpoint: number; workers: number } | null;
  };
}

/** Messages from an actor to the main thread over its MessagePort (control plane, never data). */
export type ActorMessage =
  | { type: 'ready' }
  | { type: 'init-error'; message: string; code?: string }
  | { type: 'replayed'; frames: number; tornBytes: number }
  | { type: 'fatal'; message: string; code?: string }
  | { type: 'query-result'; id: number; value?: unknown; error?: string };

/** Messages from the main thread to an actor. */
export type ActorCommand =
  | { type: 'replay' }
  | { type: 'query'; id: number; pipe: number; kg: number; key: unknown }
  | { type: 'operator-state'; id: number; pipe: number };
