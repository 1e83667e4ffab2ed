/**
 * How the CLI path scales: `keyflow run` (bids per auction) over one NDJSON file for several source-thread
 * and worker counts on this machine, then a projection for more cores from what each stage costs per
 * event, read from CPU profiles of every thread of one run. The projection is a model, not a measurement:
 * it assumes each stage keeps its measured cost per event and the stages overlap perfectly, so that
 * C cores give min(C / (s + a + c), 1 / c) events/s, where s, a and c are the CPU seconds per event of the
 * source threads, the actors and the calling thread (which is one thread, whatever the cores).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, JOB, generateNdjson, timedChild } from './child.js';
import { fmt, median, scratch } from './stats.js';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string } }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface ScalingReport {
  events: number;
  rows: Array<{ sourceThreads: number; workers: number; eventsPerSecond: number }>;
  /** CPU microseconds per event of each stage, from the profiled run. */
  stageMicros: { source: number; actors: number; calling: number };
  projection: Array<{ cores: number; eventsPerSecond: number; limitedBy: 'all cores' | 'the calling thread' }>;
}

const CONFIGS = [[0, 1], [1, 1], [2, 1], [4, 1], [1, 2], [2, 2]] as const;
const PROFILED = { sourceThreads: 2, workers: 1 };

export async function scalingBench(events: number, runs: number): Promise<ScalingReport> {
  return scratch(async (dir) => {
    const input = join(dir, 'events.ndjson');
    await generateNdjson(input, events);
    const args = (sourceThreads: number, workers: number) => [CLI, 'run', JOB, '--input', input, '--output', join(dir, 'out.ndjson'),
      '--source-threads', String(sourceThreads), '--workers', String(workers)];
    const rates = CONFIGS.map(() => [] as number[]);
    for (let r = 0; r < runs; r++) {
      for (const [i, [sourceThreads, workers]] of CONFIGS.entries()) rates[i].push(events / (await timedChild(args(sourceThreads, workers), dir)).seconds);
    }
    const profiles = join(dir, 'profiles');
    const profiled = await timedChild(['--cpu-prof', '--cpu-prof-dir', profiles, ...args(PROFILED.sourceThreads, PROFILED.workers)], dir);
    const stageMicros = await stageCosts(profiles, events, profiled.cpuSeconds);
    const perEvent = (stageMicros.source + stageMicros.actors + stageMicros.calling) / 1e6;
    return {
      events,
      rows: CONFIGS.map(([sourceThreads, workers], i) => ({ sourceThreads, workers, eventsPerSecond: median(rates[i]) })),
      stageMicros,
      projection: [2, 8, 16].map((cores) => {
        const allCores = cores / perEvent;
        const calling = 1e6 / stageMicros.calling;
        return allCores <= calling ? { cores, eventsPerSecond: allCores, limitedBy: 'all cores' as const } : { cores, eventsPerSecond: calling, limitedBy: 'the calling thread' as const };
      }),
    };
  });
}

/**
 * CPU per event of each kind of thread, from one profile per thread (node --cpu-prof): the main thread
 * (id 0) is the calling thread; a thread that ran pool-thread code is a source thread, one that ran
 * actor-thread code an actor. Busy time leaves out "(idle)" and piscina's wait for the next task. A
 * profile counts wall time, which overstates CPU when there are more busy threads than cores, so the
 * shares are applied to the process's measured CPU time (`cpuSeconds`).
 */
async function stageCosts(dir: string, events: number, cpuSeconds: number): Promise<ScalingReport['stageMicros']> {
  const micros = { source: 0, actors: 0, calling: 0 };
  for (const file of await readdir(dir)) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    let busy = 0;
    profile.samples.forEach((id, i) => {
      const { functionName } = nodes.get(id)!;
      if (functionName !== '(idle)' && functionName !== 'atomicsWaitLoop') busy += profile.timeDeltas[i] ?? 0;
    });
    const urls = profile.nodes.map((n) => n.callFrame.url);
    if (/\.\d+\.0\.\d+\.cpuprofile$/.test(file)) micros.calling += busy;
    else if (urls.some((u) => u.includes('/pool-thread/'))) micros.source += busy;
    else if (urls.some((u) => u.includes('/actor-thread/'))) micros.actors += busy;
  }
  const scale = (cpuSeconds * 1e6) / (micros.source + micros.actors + micros.calling);
  return { source: (micros.source * scale) / events, actors: (micros.actors * scale) / events, calling: (micros.calling * scale) / events };
}

export function scalingTable(r: ScalingReport, runs: number): string {
  const { source, actors, calling } = r.stageMicros;
  return [
    `Scaling of the CLI path (\`keyflow run\`, bids per auction, ${fmt(r.events)} events from one NDJSON file), median of ${runs}:`,
    '',
    '| source threads | workers | events/s |',
    '|---|---|---|',
    ...r.rows.map((row) => `| ${row.sourceThreads === 0 ? '0 (calling thread)' : row.sourceThreads} | ${row.workers} | ${fmt(row.eventsPerSecond)} |`),
    '',
    `CPU per event (one run with ${PROFILED.sourceThreads} source threads and ${PROFILED.workers} worker: its CPU time, shared out by CPU profiles of every thread): source threads ${source.toFixed(2)} µs, `
      + `actors ${actors.toFixed(2)} µs, calling thread ${calling.toFixed(2)} µs.`,
    '',
    'Projection (a model, not a measurement: each stage keeps its cost per event, the stages overlap perfectly):',
    '',
    '| cores | projected events/s | limited by |',
    '|---|---|---|',
    ...r.projection.map((p) => `| ${p.cores} | ${fmt(p.eventsPerSecond)} | ${p.limitedBy} |`),
  ].join('\n');
}
