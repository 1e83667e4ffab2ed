/**
 * Actor threads let go by engines that ended cleanly, kept a while (keepActorThreadsMs) for the next engine
 * in the process, as piscina keeps its idle workers. V8 compiles code per thread: a fresh actor thread spends the
 * first second of its run compiling the engine's hot code (TurboFan, on V8's helper threads: about a quarter
 * of a 1 M-event q8 run's CPU, by perf), and a thread that has run an engine has that code compiled. An idle
 * thread holds nothing of the engine it ran (its run closed its files; see actor-thread/session.ts) but the
 * modules it loaded, which stay loaded for the thread's life, as they do on the calling thread. It does not
 * keep the process alive.
 */
import { availableParallelism } from 'node:os';
import type { ActorThread } from './actor-thread.js';
import type { ActorThreadOptions } from './options.js';
import { abandoned } from '../shared/ignore.js';

/** At most this many wait (the oldest is ended first): enough for the engines a process runs one after another. */
const MAX_IDLE = Math.max(4, availableParallelism());

const idle: Array<{ thread: ActorThread; timer: NodeJS.Timeout }> = [];

/** Keep `thread` for a next engine, `keepMs` at most (keepActorThreadsMs), unless it has failed. */
export function park(thread: ActorThread, keepMs: number): void {
  if (thread.failure !== null) {
    thread.worker.terminate().catch(abandoned);
    return;
  }
  thread.worker.unref();
  const entry = {
    thread,
    timer: setTimeout(() => {
      idle.splice(idle.indexOf(entry), 1);
      thread.worker.terminate().catch(abandoned);
    }, keepMs).unref(),
  };
  idle.push(entry);
  if (idle.length > MAX_IDLE) void end(idle.shift()!);
}

/** An idle thread started with these options, if there is one. */
export function takeIdle(options: ActorThreadOptions): ActorThread | undefined {
  const i = idle.findIndex(({ thread }) => thread.fits(options));
  if (i === -1) return undefined;
  const [{ thread, timer }] = idle.splice(i, 1);
  clearTimeout(timer);
  thread.worker.ref();
  return thread;
}

/** How many idle threads run with these Node options (whatever their heap limits). */
export function idleWith(execArgv: string[] | undefined): number {
  return idle.filter(({ thread }) => thread.sameArgs(execArgv)).length;
}

/** End every idle thread now (a next engine then starts threads of its own, which import its modules anew). */
export async function endIdleActors(): Promise<void> {
  await Promise.all(idle.splice(0).map(end));
}

function end({ thread, timer }: { thread: ActorThread; timer: NodeJS.Timeout }): Promise<unknown> {
  clearTimeout(timer);
  return thread.worker.terminate().catch(abandoned);
}
