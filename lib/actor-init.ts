import type { RingBuffers } from './ring/layout.js';

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
  frameRecords: number;
  failFast: boolean;
}

/** Messages from an actor to the main thread over its MessagePort (control plane, never data). */
export type ActorMessage = { type: 'ready' } | { type: 'init-error'; message: string };
