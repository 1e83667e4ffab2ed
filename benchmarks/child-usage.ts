/**
 * Preloaded into a measured child process (node --import): when the process exits, its main thread writes
 * the process's resource usage (CPU time of every thread, ended ones included, and peak RSS) as JSON to the
 * file named by KEYFLOW_BENCH_USAGE, so the bench reads a child's CPU time as /usr/bin/time would; and, on
 * Linux, the main thread's own CPU time and the time since the process started, so the bench can tell how
 * much of a run the calling thread was on a core.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

export interface ChildUsage extends NodeJS.ResourceUsage {
  /** The main thread's own CPU time, user and system, in ms; null where /proc does not tell it. */
  mainThreadCpuMs: number | null;
  /** Wall time from the process's start to its exit, in ms. */
  elapsedMs: number;
}

/** The main thread's CPU time from /proc/self/task/<pid>/stat: utime and stime, in clock ticks (USER_HZ, 100 on Linux). */
function mainThreadCpuMs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // The fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

const file = process.env.KEYFLOW_BENCH_USAGE;
// Worker threads inherit the preload; only the main thread exits last.
if (isMainThread && file) {
  process.on('exit', () => {
    const usage: ChildUsage = { ...process.resourceUsage(), mainThreadCpuMs: mainThreadCpuMs(), elapsedMs: performance.now() };
    writeFileSync(file, JSON.stringify(usage));
  });
}
