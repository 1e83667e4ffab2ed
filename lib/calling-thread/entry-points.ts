/**
 * start() and serve() as the package exports them. They import the engine when first called, so that a
 * thread that only imports a pipeline module loads the pipeline API and not the engine: every actor and
 * source thread imports the user's module, and with it this package (its index). Loading the engine there
 * too (its pool, its metrics and their dependencies) cost each thread about 70 ms of start-up.
 */
import type { Engine } from './engine.js';
import type { StartOptions } from './options.js';
import type { ServeOptions, Serving } from './serve.js';
import type { PartitionGroup, PartitionGroupOptions } from './cluster/partition-group.js';
import { stackModuleUrls } from '../shared/module-url.js';
import { engineThread } from '../shared/engine-thread.js';
import { configError } from '../shared/errors.js';

/** Start an engine: validate the configuration, recover durable state, start one actor per worker thread. */
export function start(options: StartOptions): Promise<Engine> {
  const thread = engineThread();
  if (thread !== undefined) {
    return Promise.reject(configError(`start() was called inside a keyflow ${thread} thread: the module that defines your pipelines calls start() when a worker imports it. Keep pipelines in a module of their own.`));
  }
  // Read before the first await: start() looks for the caller's module on this synchronous call stack.
  const callers = stackModuleUrls();
  // The engine's threads start while the engine loads (see prestarted-threads.ts).
  const prestarted = import('./prestarted-threads.js').then((m) => m.PrestartedThreads.start(options));
  return import('./start.js').then(
    async (m) => m.start(options, callers, await prestarted),
    async (err: unknown) => {
      await (await prestarted).release();
      throw err;
    });
}

/** Serve a running engine's metrics and queryable state over HTTP on loopback (see serve.ts). */
export async function serve(engine: Engine, options: ServeOptions): Promise<Serving> {
  return (await import('./serve.js')).serve(engine, options);
}

/**
 * Join the processes that share a JetStream stream's partitions (see cluster/partition-group.ts): run the
 * partitions this process prefers, each on an engine of its own, and take over those of a process that dies.
 * `module` must be an absolute path or a file URL.
 */
export async function joinPartitions(options: PartitionGroupOptions): Promise<PartitionGroup> {
  return (await import('./cluster/partition-group.js')).joinPartitions(options, start);
}
