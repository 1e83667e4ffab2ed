/**
 * The stateless workloads into a blackhole, as Nexmark measures them: nobody takes the results, so the
 * actors only count them, against the same workloads with a results stream, in the same runs.
 */
import { measureKeyflow } from './measure.js';
import { fmt, median } from './stats.js';

const WORKLOADS = ['q0', 'q1', 'q2'] as const;

export interface BlackholeReport {
  rows: Array<{ workload: string; stream: { perCore: number[]; results: number }; blackhole: { perCore: number[]; results: number } }>;
}

export async function blackholeBench(events: number, runs: number, workers: number): Promise<BlackholeReport> {
  const rows: BlackholeReport['rows'] = [];
  for (const workload of WORKLOADS) {
    const row = { workload, stream: { perCore: [] as number[], results: 0 }, blackhole: { perCore: [] as number[], results: 0 } };
    for (let r = 0; r < runs; r++) {
      for (const sink of ['stream', 'blackhole'] as const) {
        const run = await measureKeyflow(workload, events, workers, 'batch', sink);
        row[sink].perCore.push(run.perCore);
        row[sink].results = run.results;
        process.stderr.write(`  blackhole / ${workload} ${sink}: run ${r + 1}/${runs}: ${fmt(run.perCore)} events/s per core\n`);
      }
    }
    rows.push(row);
  }
  return { rows };
}

export function blackholeTable({ rows }: BlackholeReport, events: number, runs: number): string {
  const lines = [
    `Into a blackhole (nobody takes the results; the actors count them), as Nexmark measures, against a results stream: ${fmt(events)} events, durability batch, median of ${runs}:`,
    '',
    '| workload | per core, results stream | per core, blackhole | blackhole vs stream | results |',
    '|---|---|---|---|---|',
  ];
  for (const { workload, stream, blackhole } of rows) {
    const s = median(stream.perCore);
    const b = median(blackhole.perCore);
    lines.push(`| ${workload} | ${fmt(s)} | ${fmt(b)} | ${(b / s).toFixed(2)}× | ${fmt(blackhole.results)} |`);
  }
  return lines.join('\n');
}
