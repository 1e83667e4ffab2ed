import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { configError } from '../shared/errors.js';
import { DEFAULT_MAX_KEY_GROUPS, MAX_KEY_GROUPS_LIMIT } from '../shared/keygroups.js';
import type { Durability } from '../shared/actor-protocol.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { StateBackend } from '../actor-thread/state/backends.js';
import { DEFAULT_RING_BYTES } from '../shared/ring/layout.js';

export type OnError = 'skip' | 'fail';

export interface StartOptions {
  /** Pipelines to run: Pipeline objects, or names of pipelines exported by `module`. */
  pipelines?: Array<Pipeline | string>;
  /** A module (path or file URL) whose exported pipelines to run; with `pipelines` names, where to find them. */
  module?: string | URL;
  /**
   * Actor worker threads. Default: available cores - 1, at least 1. At most maxKeyGroups, and at most
   * WORKERS_PER_CORE × the available cores (more actors than that only cost memory).
   */
  workers?: number;
  /** Key-groups: the unit of state ownership (default 128). Fixed for the life of the state. */
  maxKeyGroups?: number;
  /** 'skip' (default): bad events go to the errors output and the run goes on. 'fail': stop at the first. */
  onError?: OnError;
  /** Bytes of each SharedArrayBuffer ring (a power of two; default 4 MiB). */
  ringBytes?: number;
  /** Records per frame (default 1024). */
  frameRecords?: number;
  /** Where to keep durable state (WAL, snapshots, manifest). Without it, state lives in memory only. */
  stateDir?: string;
  /**
   * 'batch' (the default with a stateDir): each actor group-commits its WAL (fsync every `syncEveryMs`)
   * and ingest() resolves once its events are durable. 'sync': fsync every frame. 'none': no WAL.
   */
  durability?: Durability;
  /** Group-commit interval for 'batch' (default 5 ms). */
  syncEveryMs?: number;
  /** Take a checkpoint this often (default 30 000 ms; 0 turns the timer off). */
  snapshotEveryMs?: number;
  /** …or after this many bytes of input since the last one (default 256 MiB). */
  snapshotEveryBytes?: number;
  /** If the latest checkpoint's snapshot is corrupt, recover from the one before it instead of refusing. */
  repair?: boolean;
  /**
   * Where keyed state lives: 'memory' (default), or 'lmdb': an embedded LMDB database per actor (under
   * stateDir, or a temporary directory), with the `stateCacheKeys` most recently used keys per pipeline
   * and actor kept in memory, so state can outgrow the heap. Same semantics and recovery either way.
   */
  stateBackend?: StateBackend;
  /** With 'lmdb': keys per pipeline and actor kept as objects in memory (default 100 000). */
  stateCacheKeys?: number;
  /**
   * A watchdog on user code: if an actor spends this long (ms) in one call without making progress (no
   * event applied, no timer fired, nothing emitted), the run fails with ERR_KEYFLOW_CALL_TIMEOUT naming
   * the pipeline, actor, key-group and input position, and the actors are stopped. 0 (the default): no
   * limit.
   */
  maxCallMs?: number;
  /**
   * Threads of the pool that parses and routes a parallel source (`ingestNdjson()`, `keyflow run`):
   * NDJSON is cut into chunks that these threads parse, run through the pipelines' stateless functions
   * and encode into frames; the calling thread only takes finished chunks in, in input order. 0: parse
   * and route on the calling thread. Default: one per core (measured fastest on large inputs; `keyflow
   * run` starts one per 64 MiB of an input file, at most one per core: see the README's Performance).
   */
  sourceThreads?: number;
  /**
   * Start the source threads with the actors, rather than on the first parallel read: for a job that
   * reads a file, stdin or the generator from the start (`keyflow run` and `keyflow demo` do), their
   * start-up then overlaps the actors'. Default false: an engine fed by `ingest()` alone never starts them.
   */
  prestartSourceThreads?: boolean;
  /**
   * Node options for the engine's threads (actors and source threads), as `new Worker()` takes them. By
   * default they inherit the process's, so a loader the process runs under (`node --import tsx`) loads
   * pipeline modules in them too. Give a list to leave out what the threads do not need: on Node 20 a
   * `--import` that registers module hooks (an instrumentation agent, a test runner's) starts a hooks
   * thread of its own in every thread, and sends each module the thread loads through it. Options that
   * apply to the whole process (--max-old-space-size, --expose-gc) cannot be given (ERR_KEYFLOW_CONFIG),
   * and threads also take what NODE_OPTIONS in the environment says, whatever this list holds.
   */
  execArgv?: string[];
  /**
   * V8 heap limits of each actor's thread, as `new Worker()` takes them (default: V8's own, but for the
   * young generation of a job with later stages: see actor-heap.ts). `maxOldGenerationSizeMb` caps an
   * actor's heap (an actor past it fails the engine, naming what it was applying), unless the process runs
   * with --max-old-space-size, which V8 applies to every thread. `maxYoungGenerationSizeMb` is a trade,
   * measured both ways: 128 MB made the actors of later stages, which keep what they receive for a while,
   * 10-20 % faster per core (q4, q9), and the actor of a job that only adds keyed state up to 25 % slower,
   * with 80-100 MB more RSS.
   */
  actorResourceLimits?: ResourceLimits;
  /**
   * How long the actor threads of an engine that ended cleanly wait for the next start() in the process to
   * take them, with the code V8 compiled for them: a new thread spends its first second of work compiling
   * (about a quarter of a 1 M-event run's CPU on q8). Waiting threads do not keep the process alive, and
   * hold the heap of the run they ran until a next run collects it or they end. 0: end them at stop().
   * Default 1000.
   */
  keepActorThreadsMs?: number;
}

const RESOURCE_LIMITS = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

function resourceLimits(given: unknown): ResourceLimits {
  if (given === undefined) return {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw configError(`actorResourceLimits must be an object, got ${JSON.stringify(given)}`);
  for (const [name, value] of Object.entries(given)) {
    if (!(RESOURCE_LIMITS as readonly string[]).includes(name)) throw configError(`actorResourceLimits: unknown limit '${name}' (one of ${RESOURCE_LIMITS.join(', ')})`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw configError(`actorResourceLimits.${name} must be a positive number of megabytes, got ${String(value)}`);
    // A thread with less stack than this cannot start, or aborts the process when it does.
    if (name === 'stackSizeMb' && value < 1) throw configError(`actorResourceLimits.stackSizeMb must be at least 1, got ${value}`);
  }
  return { ...given };
}

/** What an actor's thread is started with. */
export type ActorThreadOptions = Pick<ResolvedOptions, 'execArgv' | 'actorResourceLimits'>;

/** Node's refusal of a thread's execArgv (a process-wide option in it) as ERR_KEYFLOW_CONFIG; any other error as it is. */
export function threadOptionsError(err: unknown): unknown {
  if ((err as NodeJS.ErrnoException | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return err;
  return configError(`execArgv: ${(err as Error).message} (options that apply to the whole process, such as --max-old-space-size, cannot be given to a thread)`);
}

export interface ResolvedOptions {
  workers: number;
  maxKeyGroups: number;
  onError: OnError;
  ringBytes: number;
  frameRecords: number;
  stateDir: string | null;
  durability: Durability;
  syncEveryMs: number;
  snapshotEveryMs: number;
  snapshotEveryBytes: number;
  repair: boolean;
  stateBackend: StateBackend;
  stateCacheKeys: number;
  maxCallMs: number;
  sourceThreads: number;
  prestartSourceThreads: boolean;
  /** undefined: the threads inherit the process's Node options. */
  execArgv: string[] | undefined;
  actorResourceLimits: ResourceLimits;
  keepActorThreadsMs: number;
}

/** More actors than this many per core only add rings, threads and heaps, never throughput. */
export const WORKERS_PER_CORE = 4;

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
  const cores = availableParallelism();
  if (workers > WORKERS_PER_CORE * cores) {
    throw configError(`workers (${workers}) is more than ${WORKERS_PER_CORE} per available core (${cores} cores): more actor threads than cores `
      + `only cost memory (each has its own rings and heap); use at most ${WORKERS_PER_CORE * cores}`);
  }
  const onError = o.onError ?? 'skip';
  if (onError !== 'skip' && onError !== 'fail') throw configError(`onError must be 'skip' or 'fail', got ${String(onError)}`);
  const ringBytes = o.ringBytes ?? DEFAULT_RING_BYTES;
  if (!Number.isInteger(ringBytes) || ringBytes < 64 * 1024 || ringBytes > 2 ** 30 || (ringBytes & (ringBytes - 1)) !== 0) {
    throw configError(`ringBytes must be a power of two from 64 KiB to 1 GiB, got ${String(ringBytes)}`);
  }
  const frameRecords = integerIn('frameRecords', o.frameRecords ?? 1024, 1, 65536);
  const stateDir = o.stateDir ?? null;
  if (stateDir !== null && (typeof stateDir !== 'string' || stateDir.length === 0)) throw configError('stateDir must be a directory path');
  const durability = o.durability ?? (stateDir ? 'batch' : 'none');
  if (!['none', 'batch', 'sync'].includes(durability)) throw configError(`durability must be 'none', 'batch' or 'sync', got ${String(durability)}`);
  if (durability !== 'none' && stateDir === null) throw configError(`durability '${durability}' needs a stateDir to write to`);
  const syncEveryMs = integerIn('syncEveryMs', o.syncEveryMs ?? 5, 0, 60_000);
  const snapshotEveryMs = integerIn('snapshotEveryMs', o.snapshotEveryMs ?? 30_000, 0, 2 ** 31 - 1);
  const snapshotEveryBytes = integerIn('snapshotEveryBytes', o.snapshotEveryBytes ?? 256 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER);
  const stateBackend = o.stateBackend ?? 'memory';
  if (stateBackend !== 'memory' && stateBackend !== 'lmdb') throw configError(`stateBackend must be 'memory' or 'lmdb', got ${String(stateBackend)}`);
  const stateCacheKeys = integerIn('stateCacheKeys', o.stateCacheKeys ?? 100_000, 1, 2 ** 31 - 1);
  const maxCallMs = integerIn('maxCallMs', o.maxCallMs ?? 0, 0, 2 ** 31 - 1);
  const sourceThreads = integerIn('sourceThreads', o.sourceThreads ?? cores, 0, 256);
  const prestartSourceThreads = o.prestartSourceThreads ?? false;
  if (typeof prestartSourceThreads !== 'boolean') throw configError(`prestartSourceThreads must be true or false, got ${String(prestartSourceThreads)}`);
  const execArgv = o.execArgv;
  if (execArgv !== undefined && (!Array.isArray(execArgv) || !execArgv.every((a) => typeof a === 'string'))) {
    throw configError(`execArgv must be an array of strings (Node options), got ${String(execArgv)}`);
  }
  return {
    workers, maxKeyGroups, onError, ringBytes, frameRecords, stateDir, durability, syncEveryMs, snapshotEveryMs, snapshotEveryBytes,
    repair: o.repair ?? false, stateBackend, stateCacheKeys, maxCallMs, sourceThreads, prestartSourceThreads, execArgv,
    actorResourceLimits: resourceLimits(o.actorResourceLimits),
    keepActorThreadsMs: integerIn('keepActorThreadsMs', o.keepActorThreadsMs ?? 1_000, 0, 2 ** 31 - 1),
  };
}
