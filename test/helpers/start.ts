/**
 * start() as the tests call it: the engine's threads without the test runner's module hooks.
 *
 * tap starts each test process with `--import` of its process tracking (and, with its TypeScript and mock
 * plugins, of theirs), which register module hooks, in its Node options and in NODE_OPTIONS. Threads
 * inherit both, and on Node 20 each thread then starts a hooks thread of its own and sends every module it
 * loads through it: an engine took 3-10 times as long to start, and the suite twice as long to run.
 * Importing this module takes the hooks out of NODE_OPTIONS (which threads and child processes read), and
 * start() gives the threads options of their own (`execArgv`). The default, threads that
 * inherit the process's options, is tested in thread-options.test.ts.
 */
import { start as keyflowStart, type Engine, type StartOptions } from '../../lib/index.js';

/** An `--import` of one of tap's hooks, as an option or within NODE_OPTIONS (where a path with spaces is quoted). */
const TAP_HOOK = /(?:"--import=[^"]*\/@tapjs\/[^"]*"|--import=\S*\/@tapjs\/\S*)/g;

if (process.env.NODE_OPTIONS !== undefined) process.env.NODE_OPTIONS = process.env.NODE_OPTIONS.replace(TAP_HOOK, '').trim();

/**
 * What the threads get: the process's source maps, if on. Not the rest of its options: tap's hooks, and
 * options that apply to the whole process (--expose-gc, say), which a thread inherits but refuses if given.
 */
export const threadExecArgv = process.execArgv.filter((a) => a === '--enable-source-maps');

export function start(options: StartOptions): Promise<Engine> {
  return keyflowStart({ ...options, execArgv: options.execArgv ?? threadExecArgv });
}
