/**
 * The engine's threads, started by start() before it loads the engine and the pipelines. A thread takes
 * 70–100 ms to boot and load its modules, about what loading the engine takes on the calling thread, and
 * on a second core the two overlap (`keyflow run`: start() returned 240–255 ms after the process started,
 * now 175–240 ms). Actor threads wait for their ActorInit, source threads for their setup (see source-pool.ts);
 * the engine takes them as it launches, and those it did not take are ended.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { ActorThread } from './actor-thread.js';
import { sameHeapLimits } from './actor-heap.js';
import { park, takeIdleWith } from './idle-actors.js';
import { resolveOptions, type StartOptions } from './options.js';
import type { SourcePool } from './source-pool.js';
import { abandoned } from '../shared/ignore.js';

export class PrestartedThreads {
  private constructor(
    /** Threads an engine before let go (idle-actors.ts), taken for this start() whatever their heap limits. */
    private readonly kept: ActorThread[],
    /** Threads started for this start(), with the heap limits its options give. */
    private readonly actors: ActorThread[],
    private sourcePool: Promise<SourcePool | null> | null,
    private readonly keepMs: number,
  ) {}

  /** Start the threads `options` will need; none if start() will refuse the options (it says why). */
  static start(options: StartOptions): PrestartedThreads {
    let resolved;
    try {
      resolved = resolveOptions(options);
    } catch {
      return new PrestartedThreads([], [], null, 0);
    }
    const { workers, execArgv, sourceThreads } = resolved;
    // Threads an engine before let go first (their code compiled); start the rest.
    const kept = takeIdleWith(resolved, workers);
    const actors: ActorThread[] = [];
    let started = true;
    try {
      while (kept.length + actors.length < workers) actors.push(new ActorThread(resolved));
    } catch {
      started = false; // Node options a thread refuses: the engine's own attempt reports them.
    }
    // The pool's module (piscina) loads after the actors have started, and while the engine loads.
    const sourcePool = resolved.prestartSourceThreads && sourceThreads > 0 && started
      ? import('./source-pool.js').then(({ SourcePool }) => {
        const pool = new SourcePool(sourceThreads, execArgv);
        pool.start();
        return pool;
      }).catch(() => null) // no pool started early: the engine starts its own, and reports why if that fails too
      : null;
    return new PrestartedThreads(kept, actors, sourcePool, resolved.keepActorThreadsMs);
  }

  /**
   * A thread with these heap limits, if one is left: a kept one first. Those started here had limits chosen
   * before the pipelines were known (see actor-heap.ts): when they do not fit they are ended now, while the
   * ones started instead boot.
   */
  takeActor(limits: ResourceLimits): ActorThread | undefined {
    // Not one that failed since (a timer its last run's user code left behind, say): release() ends it.
    const i = this.kept.findIndex((t) => t.usable && sameHeapLimits(t.limits, limits));
    if (i !== -1) return this.kept.splice(i, 1)[0];
    const thread = this.actors[0];
    if (thread !== undefined && sameHeapLimits(thread.limits, limits)) return this.actors.shift();
    for (const unfit of this.actors.splice(0)) unfit.worker.terminate().catch(abandoned);
    return undefined;
  }

  /** The started source pool, if there is one and nobody took it. */
  async takeSourcePool(): Promise<SourcePool | null> {
    const pool = this.sourcePool;
    this.sourcePool = null;
    return pool;
  }

  /** End the threads started here that nobody took; let the kept ones wait again. */
  async release(): Promise<void> {
    for (const thread of this.kept.splice(0)) park(thread, this.keepMs);
    const ended = this.actors.splice(0).map((t) => t.worker.terminate());
    const pool = await this.takeSourcePool();
    await Promise.all([...ended, pool?.destroy()]).catch(abandoned);
  }
}
