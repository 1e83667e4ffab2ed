/**
 * Preloaded into a measured child process (node --import): when the process exits, its main thread writes
 * the process's resource usage (CPU time of every thread, ended ones included, and peak RSS) as JSON to the
 * file named by KEYFLOW_BENCH_USAGE, so the bench reads a child's CPU time as /usr/bin/time would.
 */
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const file = process.env.KEYFLOW_BENCH_USAGE;
// Worker threads inherit the preload; only the main thread exits last.
if (isMainThread && file) process.on('exit', () => writeFileSync(file, JSON.stringify(process.resourceUsage())));
