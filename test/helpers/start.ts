/**
 * start() as the tests call it: the engine's threads without the test runner's module hooks.
 *
 * tap starts each test process with `--import` of its process tracking (and, with its TypeScript and mock
 * plugins, of theirs), which register module hooks, in its Node options and in NODE_OPTIONS. Threads
 * inherit both, and on Node 20 each thread then starts a hooks thread of its own and sends every module it
 * loads through it: an engine took 3-10 times as long to start, and the suite twice as long to run.
 * Importing this module takes the hooks out of NODE_OPTIONS (which threads and child processes read), and
 * start() passes the process's other options to the threads (`execArgv`). The default, threads that
 * inherit the process's options, is tested in thread-options.test.ts.
 */
import { start as keyflowStart, type Engine, type StartOptions } from '../../lib/index.js';

const isTapHook = (arg: string) => arg.includes('/@tapjs/');

if (process.env.NODE_OPTIONS !== undefined) {
  process.env.NODE_OPTIONS = process.env.NODE_OPTIONS.split(/\s+/).filter((a) => a !== '' && !isTapHook(a)).join(' ');
}

/** The process's Node options less the test runner's hooks. */
export const threadExecArgv = process.execArgv.filter((a) => !isTapHook(a));

export function start(options: StartOptions): Promise<Engine> {
  return keyflowStart({ execArgv: threadExecArgv, ...options });
}
