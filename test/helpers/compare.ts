import type { Test } from 'tap';
import { sorted, type Collected } from './collect.js';

/** `list` in ingest() batches of `size`. */
export function batchesOf<T>(list: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
}

/** What a plain reference computed for each pipeline: its results, and its late events where it says. */
export type Expected = Record<string, { results: unknown[]; late?: unknown[] }>;

/** Each pipeline's results (and late events, unless `late: false`) equal the reference's, in sorted order. */
export function sameAsReference(t: Test, expected: Expected, run: Pick<Collected, 'results' | 'late'>, check = { late: true }): void {
  for (const [name, want] of Object.entries(expected)) {
    const got = sorted(run.results[name]);
    t.equal(got.length, want.results.length, `${name}: ${want.results.length} results`);
    t.ok(got.join('\n') === sorted(want.results).join('\n'), `${name}: results identical to the reference`);
    if (want.late && check.late) t.ok(sorted(run.late[name]).join('\n') === sorted(want.late).join('\n'), `${name}: the same ${want.late.length} late events`);
  }
}

/** Every pipeline's sorted results in one string, to compare whole runs. */
export function allResults(expected: Expected, run: Pick<Collected, 'results'>): string {
  return Object.keys(expected).map((name) => sorted(run.results[name]).join('\n')).join('\n');
}
