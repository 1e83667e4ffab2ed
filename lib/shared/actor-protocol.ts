import type { MessagePort } from 'node:worker_threads';
import type { RingBuffers } from './ring/layout.js';
import type { BackendConfig } from '../actor-thread/state/backends.js';
import type { OutputPlan } from './codec/records.js';
import type { ShuffleRings } from '../actor-thread/shuffle.js';

export type Durability = 'none' | 'batch' | 'sync';

/** What the main thread hands an actor thread to start a run (the first message of each run). */
export interface ActorInit {
  /** The control plane's port (see ActorControl), transferred with the message. */
  control: MessagePort;
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
  /** Rings to and from every actor, when a pipeline has several stages (see shuffle.ts). */
  shuffle?: ShuffleRings;
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

/** A run as the engine lays it out, before a thread is chosen for it and given its control port. */
export type ActorRun = Omit<ActorInit, 'control'>;

/** Why an actor stopped or could not start: a message, and an error code when one applies. */
export interface ActorFailure {
  message: string;
  code?: string;
}

/** What an actor's WAL replay did: frames re-applied, the bytes of a torn last record cut off, and each pipeline's watermark after it. */
export interface Replayed {
  frames: number;
  tornBytes: number;
  watermarks: number[];
}

/**
 * The control plane: the object each actor worker exposes over its MessagePort with comlink, and the
 * calling thread holds a typed proxy of (see actor-link.ts). Data, watermarks and barriers never use it:
 * they travel in band, in the rings. Every call is answered between two frames.
 */
export interface ActorControl {
  /** Null once the actor has loaded its pipelines and restored its snapshot; otherwise why it could not. */
  ready(): Promise<ActorFailure | null>;
  /**
   * The form in which to send each pipeline's results and late events (values until told). Sent before
   * replay(), so every output follows it, and again whenever it changes.
   */
  outputs(plan: OutputPlan): Promise<void>;
  /** Re-apply the WAL tail after the restored checkpoint, then start reading the input ring. */
  replay(): Promise<Replayed>;
  /** A key's current state in a pipeline (engine.query()). */
  query(pipe: number, kg: number, key: unknown): Promise<unknown>;
  /** A pipeline's operator state on this actor (engine.operatorState()). */
  operatorState(pipe: number): Promise<Record<string, unknown[]>>;
  /** Settles when the actor fails for good: a WAL or snapshot it cannot write or read. */
  failure(): Promise<ActorFailure>;
  /**
   * After the end: close the run's files (its WAL segment, its state backend). The engine then closes the
   * control port, and the thread waits for another engine's ActorInit (see calling-thread/idle-actors.ts).
   */
  close(): Promise<void>;
}
