/**
 * Reading the V8 CPU profile of a process's main thread (the calling thread): how much of the run it was
 * busy, and where that time went. `node --cpu-prof --cpu-prof-dir DIR` writes one profile per thread,
 * named CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the main thread's id is 0.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface ThreadTime {
  /** Share of the profiled time not "(idle)": JavaScript, compiling, garbage collection, native work. */
  busy: number;
  /** Share in "(garbage collector)". */
  gc: number;
  /** The functions with the most self time, each with its share of the profiled time. */
  top: Array<{ name: string; share: number }>;
}

const MAIN_THREAD = /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/;

/** The main thread's profile among those one process wrote to `dir`. */
export async function mainThreadProfile(dir: string): Promise<CpuProfile> {
  const files = (await readdir(dir)).filter((f) => MAIN_THREAD.test(f));
  if (files.length !== 1) throw new Error(`expected one main-thread profile in ${dir}, found ${files.length}`);
  return JSON.parse(await readFile(join(dir, files[0]), 'utf8')) as CpuProfile;
}

export function threadTime(profile: CpuProfile, topCount = 5): ThreadTime {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfTime = new Map<string, number>();
  const { samples, timeDeltas, endTime } = profile;
  // A sample stands for the time until the next one (as DevTools counts it), the last one until the end.
  let at = profile.startTime + timeDeltas[0];
  const first = at;
  for (let i = 0; i < samples.length; i++) {
    const next = i + 1 < samples.length ? at + timeDeltas[i + 1] : endTime;
    const { functionName, url, lineNumber } = nodes.get(samples[i])!.callFrame;
    const name = url === '' ? functionName : `${functionName || '(anonymous)'} ${basename(url)}:${lineNumber + 1}`;
    selfTime.set(name, (selfTime.get(name) ?? 0) + next - at);
    at = next;
  }
  const total = endTime - first;
  const share = (name: string) => (selfTime.get(name) ?? 0) / total;
  const top = [...selfTime.entries()].filter(([name]) => name !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, topCount);
  return { busy: 1 - share('(idle)'), gc: share('(garbage collector)'), top: top.map(([name, t]) => ({ name, share: t / total })) };
}
