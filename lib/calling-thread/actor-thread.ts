/**
 * An actor's thread, started before it is told what to do: it boots and loads its modules while the
 * calling thread loads the engine and the pipelines and lays out the rings (see prestarted-threads.ts),
 * then takes its ActorInit as its first message (see ../actor-thread/main.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { ActorInit } from '../shared/actor-protocol.js';
import { threadOptionsError, type ActorThreadOptions } from './options.js';
import { sameHeapLimits } from './actor-heap.js';

const ACTOR_URL = actorUrl();

/**
 * The actor's code bundled into one file by `npm run build` (scripts/bundle-actor-thread.ts: a thread
 * loads it in about 60 ms less CPU than its modules one by one); the modules themselves where there is no
 * bundle, or one older than any file it was made from (a build by tsc alone, which re-emits only what
 * changed), so a thread never runs stale code.
 */
function actorUrl(): URL {
  const modules = new URL('../actor-thread/main.js', import.meta.url);
  const bundle = new URL('../actor-thread/main.bundle.js', import.meta.url);
  const modified = (url: URL) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? Infinity;
  let inputs: string[];
  try {
    inputs = (JSON.parse(readFileSync(new URL('../actor-thread/main.bundle.json', import.meta.url), 'utf8')) as { inputs: string[] }).inputs;
  } catch {
    return modules;
  }
  const built = modified(bundle);
  return built !== Infinity && inputs.every((input) => modified(new URL(input, bundle)) <= built) ? bundle : modules;
}

export class ActorThread {
  readonly worker: Worker;
  /** The V8 heap limits it was started with (a thread keeps them for life). */
  readonly limits: ResourceLimits;
  /** Its Node options (undefined: the process's). */
  private readonly execArgv: string[] | undefined;
  /** process.env when it started, which the thread has a copy of. */
  private readonly env = environment();
  /** How it failed before anyone else listened (an 'error' event nobody hears would end the process). */
  failure: Error | null = null;

  /**
   * `execArgv`: its Node options (undefined: the process's); refused options throw ERR_KEYFLOW_CONFIG.
   * `actorResourceLimits`: its V8 heap limits (see options.ts).
   */
  constructor({ execArgv, actorResourceLimits }: ActorThreadOptions) {
    this.limits = actorResourceLimits;
    this.execArgv = execArgv;
    try {
      this.worker = new Worker(ACTOR_URL, { ...(execArgv ? { execArgv } : {}), resourceLimits: actorResourceLimits });
    } catch (err) {
      throw threadOptionsError(err);
    }
    this.worker.on('error', (err) => {
      this.failure ??= err;
    });
  }

  /** Whether it runs as a thread started now with `options` would. */
  fits(options: ActorThreadOptions): boolean {
    return sameHeapLimits(this.limits, options.actorResourceLimits) && this.fitsExceptLimits(options);
  }

  /** The same Node options, and the environment the process has now (a thread has its copy from when it started). */
  fitsExceptLimits({ execArgv }: ActorThreadOptions): boolean {
    const mine = this.execArgv;
    const sameArgs = mine === execArgv || (mine !== undefined && execArgv !== undefined && mine.length === execArgv.length && mine.every((a, i) => a === execArgv[i]));
    return sameArgs && this.env === environment();
  }

  /** Neither failed nor exited. */
  get usable(): boolean {
    return this.failure === null && this.worker.threadId !== -1;
  }

  /** Give the thread a run: the next message it reads, with the run's control port. */
  begin(init: ActorInit): Worker {
    this.worker.postMessage(init, [init.control]);
    return this.worker;
  }
}

/** The process's environment, as a string to compare. */
function environment(): string {
  return JSON.stringify(process.env);
}
