import type { EngineSummary } from '../calling-thread/engine-stats.js';
import { grouped } from './grouped.js';

/** The one-paragraph summary a run prints on stderr. */
export function formatSummary(s: EngineSummary): string {
  return [
    `events:     ${grouped(s.events)}`,
    `results:    ${grouped(s.results)}`,
    `late:       ${grouped(s.late)}`,
    `errors:     ${grouped(s.errors)}`,
    `elapsed:    ${(s.elapsedMs / 1000).toFixed(2)} s`,
    `throughput: ${grouped(s.eventsPerSecond)} events/s`,
  ].join('\n');
}
