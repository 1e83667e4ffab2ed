/**
 * Actor threads let go by engines that ended cleanly, kept a while (keepActorThreadsMs) for the next engine
 * in the process, as piscina keeps its idle workers. V8 compiles code per thread: a fresh actor thread spends
 * the first second of its run compiling the engine's hot code (TurboFan, on V8's helper threads: about a
 * quarter of a 1 M-event q8 run's CPU, by perf), and a thread that has run an engine has that code compiled.
 * An idle thread holds nothing of the engine it ran (its run closed its files; see actor-thread/session.ts)
 * but the modules it loaded, which stay loaded for the thread's life, as they do on the calling thread. It
 * does not keep the process alive; one that fails or exits while it waits is dropped.
 */
import { availableParallelism } from 'node:os';
import type { ActorThread } from './actor-thread.js';
import type { ActorThreadOptions } from './options.js';
import { abandoned } from '../shared/ignore.js';

/** At most this many wait (the oldest is ended first): enough for the engines a process runs one after another. */
const MAX_IDLE = Math.max(4, availableParallelism());

interface Idle {
  thread: ActorThread;
  timer: NodeJS.Timeout;
  /** Drops the entry when the thread exits while it waits. */
  gone: () => void;
}

const idle: Idle[] = [];

/** Keep `thread` for a next engine, `keepMs` at most (keepActorThreadsMs), unless it has failed. */
export function park(thread: ActorThread, keepMs: number): void {
  if (!thread.usable) {
    thread.worker.terminate().catch(abandoned);
    return;
  }
  thread.worker.unref();
  const entry: Idle = {
    thread,
    timer: setTimeout(() => void end(take(entry)), keepMs).unref(),
    gone: () => take(entry),
  };
  thread.worker.once('exit', entry.gone);
  idle.push(entry);
  if (idle.length > MAX_IDLE) void end(take(idle[0]));
}

/** An idle thread started with these options, if there is one. */
export function takeIdle(options: ActorThreadOptions): ActorThread | undefined {
  const entry = idle.find(({ thread }) => thread.usable && thread.fits(options));
  return entry === undefined ? undefined : resume(take(entry));
}

/**
 * Up to `n` idle threads started with these Node options and this environment, whatever their heap limits
 * (start() takes them before it knows its pipelines' limits: see prestarted-threads.ts).
 */
export function takeIdleWith(options: ActorThreadOptions, n: number): ActorThread[] {
  const taken = idle.filter(({ thread }) => thread.usable && thread.fitsExceptLimits(options)).slice(0, n);
  return taken.map((entry) => resume(take(entry)));
}

/** End every idle thread now (a next engine then starts threads of its own, which import its modules anew). */
export async function endIdleActors(): Promise<void> {
  await Promise.all([...idle].map((entry) => end(take(entry))));
}

/** Out of the list (if still in it), its timer and exit listener removed. */
function take(entry: Idle): ActorThread {
  const i = idle.indexOf(entry);
  if (i !== -1) idle.splice(i, 1);
  clearTimeout(entry.timer);
  entry.thread.worker.off('exit', entry.gone);
  return entry.thread;
}

function resume(thread: ActorThread): ActorThread {
  thread.worker.ref();
  return thread;
}

function end(thread: ActorThread): Promise<unknown> {
  return thread.worker.terminate().catch(abandoned);
}
