/**
 * The bench's child processes: `keyflow generate` into a file, and timed runs (wall time from spawn to exit,
 * CPU time and peak RSS of the whole process, every thread, read from the child's own resourceUsage()).
 */
import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildUsage } from './child-usage.js';

export const CLI = fileURLToPath(new URL('../lib/cli/main.js', import.meta.url));
export const JOB = fileURLToPath(new URL('../examples/bids-per-auction.js', import.meta.url));
const CHILD_USAGE = new URL('./child-usage.js', import.meta.url).href;

/** `node …args` to its end; the exit code must be 0. */
export function node(args: string[], { stdout = 'ignore', env = {} }: { stdout?: 'ignore' | number; env?: Record<string, string> } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', stdout, 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`node ${args.join(' ')} exited with ${code}:\n${stderr}`))));
  });
}

/**
 * One timed run of a child process: seconds from spawn to exit, and its resource usage; `mainThreadShare`: its
 * main thread's own CPU time over the process's life (null where the platform does not tell it).
 */
export async function timedChild(args: string[], dir: string): Promise<{ seconds: number; cpuSeconds: number; peakRssMb: number; mainThreadShare: number | null }> {
  const usageFile = join(dir, 'usage.json');
  const t0 = performance.now();
  await node(['--import', CHILD_USAGE, ...args], { env: { KEYFLOW_BENCH_USAGE: usageFile } });
  const seconds = (performance.now() - t0) / 1000;
  const usage = JSON.parse(await readFile(usageFile, 'utf8')) as ChildUsage;
  const mainThreadShare = usage.mainThreadCpuMs === null ? null : usage.mainThreadCpuMs / usage.elapsedMs;
  return { seconds, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, peakRssMb: usage.maxRSS / 1024, mainThreadShare };
}

/** `events` Nexmark events (default seed) as NDJSON in `path`. */
export async function generateNdjson(path: string, events: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    await node([CLI, 'generate', '--events', String(events)], { stdout: file.fd });
  } finally {
    await file.close();
  }
}
