/**
 * The CLI path, as a new user meets keyflow: `keyflow run` with default options on an NDJSON file of Nexmark
 * events (bids per auction), against a plain readline + JSON.parse + Map script over the same file. Both run
 * as child processes, side by side, in alternating order: wall time from spawn to exit (Node's start-up
 * included, as the user waits for it), CPU time and peak RSS of the whole process (every thread). Their
 * outputs must hold the same results. As many keyflow runs more under --cpu-prof then tell how much of the
 * run the calling thread was busy (the median run's share).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, JOB, generateNdjson, node, timedChild } from './child.js';
import { mainThreadProfile, threadTime, type ThreadTime } from './cpu-profile.js';
import { fmt, median, scratch } from './stats.js';

const PLAIN = fileURLToPath(new URL('./baselines/plain-ndjson.js', import.meta.url));

/** The issue's targets: keyflow run at least 1.3× the plain script's events/s; the calling thread busy at most 25 % of the run. */
export const SPEED_TARGET = 1.3;
export const CALLING_THREAD_TARGET = 0.25;

const IMPLEMENTATIONS = {
  'keyflow run': (input: string, output: string) => [CLI, 'run', JOB, '--input', input, '--output', output],
  'plain script': (input: string, output: string) => [PLAIN, input, output],
};
type Impl = keyof typeof IMPLEMENTATIONS;

export interface CliRuns { eventsPerSecond: number[]; cpuSeconds: number[]; peakRssMb: number[] }

export interface CliPathReport {
  events: number;
  inputBytes: number;
  runs: Record<Impl, CliRuns>;
  /** Median events/s of keyflow run over that of the plain script. */
  speedRatio: number;
  /** Median CPU seconds of keyflow run over those of the plain script. */
  cpuRatio: number;
  /** Results (windows) in each output. */
  results: number;
  /** Every run's two outputs held the same results (sorted, fields in one order). */
  identical: boolean;
  /** The calling thread in the median (by its busy share) of `runs` more keyflow runs, profiled. */
  callingThread: ThreadTime;
  /** Each profiled run's busy share of the calling thread, least first. */
  callingThreadRuns: number[];
  /**
   * Each timed keyflow run's calling thread on a core: its own CPU time over the run (Linux; empty elsewhere).
   * A profile counts as busy the time the thread was ready but off its core (as it is when it wakes another) or blocked in a synchronous call.
   */
  callingThreadCpu: number[];
}

/** An output's results in a canonical form: each as JSON with its fields sorted, all in sorted order. */
async function canonical(path: string): Promise<string[]> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
  return lines.map((line) => {
    const r = JSON.parse(line) as Record<string, unknown>;
    return JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]));
  }).sort();
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export async function cliPathBench(events: number, runs: number): Promise<CliPathReport> {
  return scratch(async (dir) => {
    const input = join(dir, 'events.ndjson');
    await generateNdjson(input, events);
    const measured: Record<Impl, CliRuns> = {
      'keyflow run': { eventsPerSecond: [], cpuSeconds: [], peakRssMb: [] },
      'plain script': { eventsPerSecond: [], cpuSeconds: [], peakRssMb: [] },
    };
    const output = (impl: Impl) => join(dir, `${impl.replace(' ', '-')}.ndjson`);
    const callingThreadCpu: number[] = [];
    let identical = true;
    let results = 0;
    for (let r = 0; r < runs; r++) {
      const order: Impl[] = r % 2 === 0 ? ['keyflow run', 'plain script'] : ['plain script', 'keyflow run'];
      for (const impl of order) {
        const run = await timedChild(IMPLEMENTATIONS[impl](input, output(impl)), dir);
        measured[impl].eventsPerSecond.push(events / run.seconds);
        measured[impl].cpuSeconds.push(run.cpuSeconds);
        measured[impl].peakRssMb.push(run.peakRssMb);
        if (impl === 'keyflow run' && run.mainThreadShare !== null) callingThreadCpu.push(run.mainThreadShare);
        process.stderr.write(`  cli path / ${impl}: run ${r + 1}/${runs}: ${fmt(events / run.seconds)} events/s\n`);
      }
      const [k, p] = await Promise.all([canonical(output('keyflow run')), canonical(output('plain script'))]);
      identical &&= same(k, p);
      results = k.length;
    }
    // As many more runs profiled: the calling thread's share is the median run's (one run alone swung 23–27 %).
    const profiled: ThreadTime[] = [];
    for (let r = 0; r < runs; r++) {
      const profiles = join(dir, `profiles-${r}`);
      await node(['--cpu-prof', '--cpu-prof-dir', profiles, ...IMPLEMENTATIONS['keyflow run'](input, output('keyflow run'))]);
      profiled.push(threadTime(await mainThreadProfile(profiles)));
    }
    profiled.sort((a, b) => a.busy - b.busy);
    const rate = (impl: Impl) => median(measured[impl].eventsPerSecond);
    const cpu = (impl: Impl) => median(measured[impl].cpuSeconds);
    return {
      events,
      inputBytes: (await stat(input)).size,
      runs: measured,
      speedRatio: rate('keyflow run') / rate('plain script'),
      cpuRatio: cpu('keyflow run') / cpu('plain script'),
      results,
      identical,
      callingThread: profiled[Math.floor(profiled.length / 2)],
      callingThreadRuns: profiled.map((p) => p.busy),
      callingThreadCpu,
    };
  });
}

const percent = (share: number) => `${(share * 100).toFixed(0)} %`;

export function cliPathTable(r: CliPathReport, runs: number): string {
  const plain = r.runs['plain script'];
  const rows = (Object.keys(r.runs) as Impl[]).map((impl) => {
    const m = r.runs[impl];
    const rate = median(m.eventsPerSecond);
    const cpu = median(m.cpuSeconds);
    return `| ${impl} | ${fmt(rate)} | ${(rate / median(plain.eventsPerSecond)).toFixed(2)}× | ${cpu.toFixed(2)} s | ${(cpu / median(plain.cpuSeconds)).toFixed(2)}× | ${fmt(median(m.peakRssMb))} MB |`;
  });
  const busy = r.callingThread.busy;
  return [
    `CLI path: \`keyflow run\` on bids per auction with default options, against a plain readline + JSON.parse + Map script, on one NDJSON file of ${fmt(r.events)} events (${fmt(r.inputBytes / 2 ** 20)} MB); child processes, alternating order, wall time from spawn to exit, median of ${runs}:`,
    '',
    '| implementation | events/s | vs plain script | CPU (all threads) | CPU vs plain script | peak RSS |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Results: ${fmt(r.results)} windows, ${r.identical ? 'the same in both outputs (sorted, fields in one order)' : 'DIFFERENT between the two outputs'}.`,
    `Target: keyflow run ≥ ${SPEED_TARGET}× the plain script's events/s: ${r.speedRatio.toFixed(2)}× (${r.speedRatio >= SPEED_TARGET ? 'met' : 'not met'}).`,
    '',
    `Calling thread, from CPU profiles of ${r.callingThreadRuns.length} more keyflow runs: busy ${percent(busy)} of the run in the median one (${r.callingThreadRuns.map(percent).join(', ')}; target ≤ ${percent(CALLING_THREAD_TARGET)}: ${busy <= CALLING_THREAD_TARGET ? 'met' : 'not met'}), garbage collection ${percent(r.callingThread.gc)}.`,
    `Most self time there: ${r.callingThread.top.map((t) => `${t.name} ${(t.share * 100).toFixed(1)} %`).join(', ')}.`,
    ...(r.callingThreadCpu.length === 0 ? [] : [`The calling thread's own CPU time in the timed runs (from /proc; a profile counts as busy the time it was ready but off its core, or blocked, too): ${percent(median(r.callingThreadCpu))} of the run in the median one (${r.callingThreadCpu.map(percent).join(', ')}).`]),
  ].join('\n');
}
