import type { EngineSummary } from '../calling-thread/engine-stats.js';

/** The one-paragraph summary a run prints on stderr. */
export function formatSummary(s: EngineSummary): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return [
    `events:     ${n(s.events)}`,
    `results:    ${n(s.results)}`,
    `late:       ${n(s.late)}`,
    `errors:     ${n(s.errors)}`,
    `elapsed:    ${(s.elapsedMs / 1000).toFixed(2)} s`,
    `throughput: ${n(s.eventsPerSecond)} events/s`,
  ].join('\n');
}
