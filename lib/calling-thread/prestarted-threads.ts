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
import { idleWith } from './idle-actors.js';
import { resolveOptions, type StartOptions } from './options.js';
import type { SourcePool } from './source-pool.js';
import { abandoned } from '../shared/ignore.js';

export class PrestartedThreads {
  private constructor(private readonly actors: ActorThread[], private sourcePool: Promise<SourcePool | null> | null) {}

  /** Start the threads `options` will need; none if start() will refuse the options (it says why). */
  static start(options: StartOptions): PrestartedThreads {
    let resolved;
    try {
      resolved = resolveOptions(options);
    } catch {
      return new PrestartedThreads([], null);
    }
    const { workers, execArgv, sourceThreads } = resolved;
    const actors: ActorThread[] = [];
    // Threads an engine before let go are taken where they fit (see launch in start.ts): start the rest.
    const wanted = Math.max(0, workers - idleWith(execArgv));
    try {
      while (actors.length < wanted) actors.push(new ActorThread(resolved));
    } catch {
      // Node options a thread refuses: the engine's own attempt reports them.
    }
    // The pool's module (piscina) loads after the actors have started, and while the engine loads.
    const sourcePool = resolved.prestartSourceThreads && sourceThreads > 0 && actors.length === wanted
      ? import('./source-pool.js').then(({ SourcePool }) => {
        const pool = new SourcePool(sourceThreads, execArgv);
        pool.start();
        return pool;
      }).catch(() => null) // no pool started early: the engine starts its own, and reports why if that fails too
      : null;
    return new PrestartedThreads(actors, sourcePool);
  }

  /**
   * A started actor thread, if one is left with these heap limits. They were chosen before the pipelines
   * were known (see actor-heap.ts): threads with others are ended now, while the ones started instead boot.
   */
  takeActor(limits: ResourceLimits): ActorThread | undefined {
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

  /** End the threads nobody took. */
  async release(): Promise<void> {
    const ended = this.actors.splice(0).map((t) => t.worker.terminate());
    const pool = await this.takeSourcePool();
    await Promise.all([...ended, pool?.destroy()]).catch(abandoned);
  }
}
