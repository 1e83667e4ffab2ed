import { availableParallelism } from 'node:os';
import { configError } from './errors.js';
import { DEFAULT_MAX_KEY_GROUPS, MAX_KEY_GROUPS_LIMIT } from './keygroups.js';
import type { Pipeline } from './pipeline.js';
import { DEFAULT_RING_BYTES } from './ring/layout.js';

export type OnError = 'skip' | 'fail';

export interface StartOptions {
  /** Pipelines to run: Pipeline objects, or names of pipelines exported by `module`. */
  pipelines?: Array<Pipeline | string>;
  /** A module (path or file URL) whose exported pipelines to run; with `pipelines` names, where to find them. */
  module?: string | URL;
  /** Actor worker threads. Default: available cores - 1, at least 1. */
  workers?: number;
  /** Key-groups: the unit of state ownership (default 128). Fixed for the life of the state. */
  maxKeyGroups?: number;
  /** 'skip' (default): bad events go to the errors output and the run goes on. 'fail': stop at the first. */
  onError?: OnError;
  /** Bytes of each SharedArrayBuffer ring (a power of two; default 4 MiB). */
  ringBytes?: number;
  /** Records per frame (default 1024). */
  frameRecords?: number;
}

export interface ResolvedOptions {
  workers: number;
  maxKeyGroups: number;
  onError: OnError;
  ringBytes: number;
  frameRecords: number;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw configError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Check and complete the numeric options; throws a KeyflowError (ERR_KEYFLOW_CONFIG) naming the problem. */
export function resolveOptions(o: StartOptions): ResolvedOptions {
  const maxKeyGroups = integerIn('maxKeyGroups', o.maxKeyGroups ?? DEFAULT_MAX_KEY_GROUPS, 1, MAX_KEY_GROUPS_LIMIT);
  const workers = integerIn('workers', o.workers ?? Math.min(defaultWorkers(), maxKeyGroups), 1, 1024);
  if (workers > maxKeyGroups) throw configError(`workers (${workers}) must not exceed maxKeyGroups (${maxKeyGroups}): each actor owns at least one key-group`);
  const onError = o.onError ?? 'skip';
  if (onError !== 'skip' && onError !== 'fail') throw configError(`onError must be 'skip' or 'fail', got ${String(onError)}`);
  const ringBytes = o.ringBytes ?? DEFAULT_RING_BYTES;
  if (!Number.isInteger(ringBytes) || ringBytes < 64 * 1024 || ringBytes > 2 ** 30 || (ringBytes & (ringBytes - 1)) !== 0) {
    throw configError(`ringBytes must be a power of two from 64 KiB to 1 GiB, got ${String(ringBytes)}`);
  }
  const frameRecords = integerIn('frameRecords', o.frameRecords ?? 1024, 1, 65536);
  return { workers, maxKeyGroups, onError, ringBytes, frameRecords };
}
