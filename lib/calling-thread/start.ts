import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createActivity } from '../shared/activity.js';
import { ActorLink } from './actor-link.js';
import { actorHeapLimits } from './actor-heap.js';
import type { Lock } from './durability/lock.js';
import { lockStateDir, openStateDir, type Recovery } from './durability/state-dir.js';
import { Engine } from './engine.js';
import type { CarriedOutput } from './output-dispatch.js';
import { KeyflowError, codes, configError } from '../shared/errors.js';
import { resolveOptions, type ResolvedOptions, type StartOptions } from './options.js';
import { isPipeline, isShuffled, lastStageOf, runOrderOf, type Pipeline } from '../pipeline/pipeline.js';
import { importPipelines } from '../pipeline/pipeline-loader.js';
import { stackModuleUrls } from '../shared/module-url.js';
import { Doorbell } from '../shared/ring/doorbell.js';
import { createRing, maxFrameBytes, type RingBuffers } from '../shared/ring/layout.js';
import type { ShuffleRings } from '../actor-thread/shuffle.js';
import { SourcePool } from './source-pool.js';
import type { PrestartedThreads } from './prestarted-threads.js';
import type { ActorRun } from '../shared/actor-protocol.js';
import type { BackendConfig } from '../actor-thread/state/backends.js';
import { lmdbDir, lmdbRoot, lmdbTempPrefix } from '../shared/durability/state-layout.js';

/**
 * start(): validate the configuration, find the pipelines and the module each is imported from, open the
 * state directory (recovering under the old worker count first when rescaling), and start the actors.
 */
function moduleUrlOf(m: string | URL): string {
  const s = String(m);
  return /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:\\/i.test(s) ? s : pathToFileURL(resolvePath(s)).href;
}

/** The pipelines to run, each with the module a worker must import to find it. */
interface Resolved {
  pipelines: Pipeline[];
  moduleUrls: string[];
}

/** `callers`: the modules on start()'s synchronous call stack (see importPipelines). */
async function resolvePipelines(options: StartOptions, callers: readonly string[]): Promise<Resolved> {
  const moduleUrl = options.module === undefined ? undefined : moduleUrlOf(options.module);
  const exported = moduleUrl === undefined ? [] : await importPipelines(moduleUrl, callers);
  const wanted = options.pipelines ?? exported;
  if (!Array.isArray(wanted) || wanted.length === 0) {
    throw configError(moduleUrl ? `module ${moduleUrl} exports no pipelines` : 'start() needs pipelines: [pipeline(...), …] or a module that exports them');
  }
  const named = wanted.map((p) => {
    if (isPipeline(p)) return p;
    if (typeof p === 'string') {
      const found = exported.find((e) => e.name === p);
      if (found) return found;
      const known = exported.map((e) => `'${e.name}'`).join(', ') || 'none';
      throw new KeyflowError(codes.UNKNOWN_PIPELINE, moduleUrl
        ? `unknown pipeline '${p}': ${moduleUrl} exports ${known}`
        : `unknown pipeline '${p}': to name pipelines, also pass module: the module that exports them`);
    }
    throw configError(`pipelines must hold pipeline(...) objects or names, got ${typeof p}`);
  });
  // A pipeline of several stages runs as one pipe per stage, earlier stages first (see Pipeline.keyBy), after
  // the pipelines it reads (see Pipeline.from).
  const pipelines = [...new Set(named.flatMap((p) => runOrderOf(lastStageOf(p))))];
  const problems: string[] = [];
  const names = new Set<string>();
  for (const p of pipelines) {
    if (names.has(p.name)) problems.push(`two pipelines are named '${p.name}'`);
    names.add(p.name);
    if (p.downstream === null) problems.push(...p.problems().filter((problem) => !problems.includes(problem))); // with its earlier stages'
    if (!p.moduleUrl && !moduleUrl) problems.push(`pipeline '${p.name}': cannot tell which module defines it; use pipeline('${p.name}', { module: import.meta.url })`);
  }
  if (pipelines.length > 255) problems.push(`at most 255 pipelines per engine, got ${pipelines.length}`);
  if (problems.length > 0) throw configError(`invalid pipelines:\n  - ${problems.join('\n  - ')}`);
  // A pipeline found among `module`'s exports is imported from there, even if a helper in another
  // module built it (pipeline() then recorded the helper's module).
  const moduleUrls = pipelines.map((p) => (moduleUrl !== undefined && exported.includes(p) ? moduleUrl : (p.moduleUrl ?? moduleUrl)!));
  return { pipelines, moduleUrls };
}

/**
 * Where the actors keep keyed state. LMDB goes under the state directory (actors of an older worker
 * count are removed), or in a temporary directory that the engine removes when it ends.
 */
function stateBackend(options: ResolvedOptions): { config: BackendConfig; cleanup: () => void } {
  if (options.stateBackend === 'memory') return { config: { kind: 'memory' }, cleanup: () => {} };
  const dir = options.stateDir ? lmdbRoot(options.stateDir) : mkdtempSync(lmdbTempPrefix());
  if (options.stateDir) {
    for (let actor = options.workers; existsSync(lmdbDir(dir, actor)); actor++) rmSync(lmdbDir(dir, actor), { recursive: true, force: true });
  }
  const cleanup = options.stateDir ? () => {} : () => rmSync(dir, { recursive: true, force: true });
  return { config: { kind: 'lmdb', dir, cacheKeys: options.stateCacheKeys }, cleanup };
}

/** A ring between two actors: at most this, less with many workers (there are workers² of them)... */
const SHUFFLE_RING_BYTES = 1024 * 1024;
/** ...so that together they take about this, but each at least SHUFFLE_RING_MIN (a frame between actors is at most half of it). */
const SHUFFLE_TOTAL_BYTES = 64 * 1024 * 1024;
const SHUFFLE_RING_MIN = 64 * 1024;

function shuffleRingBytes(workers: number, ringBytes: number): number {
  const share = 2 ** Math.floor(Math.log2(SHUFFLE_TOTAL_BYTES / workers ** 2));
  return Math.max(SHUFFLE_RING_MIN, Math.min(share, SHUFFLE_RING_BYTES, ringBytes));
}

/** One ring per (producer actor, consumer actor), and each actor's share of them (see shuffle.ts). */
function shuffleRings(workers: number, bytes: number, inputs: RingBuffers[]): (actor: number) => ShuffleRings {
  const rings = Array.from({ length: workers }, () => Array.from({ length: workers }, () => createRing(bytes)));
  const wakes = inputs.map((ring) => ring.control);
  return (actor) => ({ inbound: rings.map((from) => from[actor]), outbound: rings[actor], wakes });
}

/** What each actor starts with, its rings laid out. */
function actorInits({ pipelines, moduleUrls }: Resolved, options: ResolvedOptions, stateBackend: BackendConfig, doorbell: Doorbell,
                    restore: { checkpoint: number; workers: number } | null): ActorRun[] {
  const inputs = Array.from({ length: options.workers }, () => createRing(options.ringBytes));
  const shuffle = pipelines.some(isShuffled) ? shuffleRings(options.workers, shuffleRingBytes(options.workers, options.ringBytes), inputs) : null;
  return inputs.map((input, actor) => ({
    actor,
    workers: options.workers,
    maxKeyGroups: options.maxKeyGroups,
    pipelines: pipelines.map((p, i) => ({ name: p.name, moduleUrl: moduleUrls[i] })),
    input,
    ...(shuffle ? { shuffle: shuffle(actor) } : {}),
    output: createRing(options.ringBytes),
    doorbell: doorbell.buffer,
    activity: createActivity(),
    frameRecords: options.frameRecords,
    failFast: options.onError === 'fail',
    stateBackend,
    ...(options.stateDir ? { durable: { stateDir: options.stateDir, durability: options.durability, syncEveryMs: options.syncEveryMs, restore } } : {}),
  }));
}

/** Start the actors for `workers`, restoring `recovery`'s checkpoint, and build the engine around them. */
async function launch({ pipelines, moduleUrls }: Resolved, options: ResolvedOptions, recovery: Recovery | null, startedAt: number,
                      prestarted: PrestartedThreads | null, carried: CarriedOutput[] = [], lock: Lock | null = null): Promise<Engine> {
  const backend = stateBackend(options);
  const doorbell = new Doorbell();
  const restore = recovery?.checkpoint ? { checkpoint: recovery.checkpoint.id, workers: recovery.checkpoint.workers } : null;
  const prestartedPool = options.prestartSourceThreads ? await prestarted?.takeSourcePool() : null;
  const sourcePool = options.sourceThreads === 0 ? null : prestartedPool ?? new SourcePool(options.sourceThreads, options.execArgv);
  let inits: ActorRun[];
  try {
    sourcePool?.configure({
      pipelines: pipelines.map((p, i) => ({ name: p.name, moduleUrl: moduleUrls[i] })),
      workers: options.workers, maxKeyGroups: options.maxKeyGroups, frameRecords: options.frameRecords, maxFrame: maxFrameBytes(options.ringBytes),
    });
    if (options.prestartSourceThreads) sourcePool?.start();
    // Every ring is laid out before any thread is given its work: an allocation that fails leaves none begun.
    inits = actorInits({ pipelines, moduleUrls }, options, backend.config, doorbell, restore);
  } catch (err) {
    await sourcePool?.destroy();
    backend.cleanup();
    throw err;
  }
  const settled = await Promise.allSettled(inits.map((init) => ActorLink.start(init, prestarted?.takeActor(options.actorResourceLimits) ?? options)));
  const links = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  // An actor's failure first (it says what is wrong with the module), else a prestarted source thread's.
  const failure = (settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason as Error | undefined) ?? sourcePool?.startFailure;
  if (failure) {
    await Promise.all([...links.map((l) => l.terminate()), sourcePool?.destroy()]);
    backend.cleanup();
    throw failure;
  }
  return new Engine({ pipelines, moduleUrls, options, links, doorbell, recovery, startedAt, carried, cleanup: backend.cleanup, lock, sourcePool });
}

/**
 * Start an engine: validate the configuration, recover durable state, start one actor per worker thread.
 * `callers`: the modules on the caller's synchronous call stack (see importPipelines). `prestarted`:
 * threads started for these options before the engine loaded (see prestarted-threads.ts), taken where
 * they fit and otherwise ended here.
 */
export async function start(options: StartOptions, callers = stackModuleUrls(), prestarted: PrestartedThreads | null = null): Promise<Engine> {
  try {
    return await startWith(options, callers, prestarted);
  } finally {
    await prestarted?.release();
  }
}

async function startWith(options: StartOptions, callers: readonly string[], prestarted: PrestartedThreads | null): Promise<Engine> {
  if (typeof options !== 'object' || options === null) throw configError('start() needs an options object');
  const startedAt = performance.now();
  const given = resolveOptions(options);
  const found = await resolvePipelines(options, callers);
  const resolved = { ...given, actorResourceLimits: actorHeapLimits(found.pipelines, given.actorResourceLimits) };
  const names = found.pipelines.map((p) => p.name);
  // One engine per state directory: held from here (across a rescaling pre-run) until the engine stops.
  const lock = resolved.stateDir ? lockStateDir(resolved.stateDir) : null;
  try {
    const open = () => (resolved.stateDir ? openStateDir(resolved.stateDir, resolved.maxKeyGroups, names, resolved.repair, resolved.workers) : null);
    let recovery = open();
    const logged = recovery?.walWorkers ?? null;
    let carried: CarriedOutput[] = [];
    if (logged !== null && logged !== resolved.workers) {
      // Rescaling: recover under the worker count that logged since the checkpoint (its WALs are per
      // actor), take a checkpoint, then start the new count from that checkpoint's per-key-group snapshots alone. What
      // the replay emitted is carried over and delivered by the new engine.
      const old = await launch(found, { ...resolved, workers: logged, snapshotEveryMs: 0, prestartSourceThreads: false }, recovery, startedAt, prestarted);
      const handover = await old.checkpointAndClose();
      carried = handover.outputs;
      recovery = { ...open()!, checkpoint: handover.checkpoint };
    }
    return await launch(found, resolved, recovery, startedAt, prestarted, carried, lock);
  } catch (err) {
    lock?.release();
    throw err;
  }
}
