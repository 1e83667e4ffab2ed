/** The crash tests' results file (one NDJSON line per window) compared with the exact expectation. */
import { readFileSync } from 'node:fs';

/** Compare a results file with the exact expectation: duplicates, and windows missing or wrong. */
export function compareResults(path: string, expected: Map<string, { n: number; total: number }>): { duplicates: string[]; missing: number; wrong: number; extra: number } {
  const got = readResults(path);
  let missing = 0;
  let wrong = 0;
  for (const [id, want] of expected) {
    const have = got.byWindow.get(id);
    if (!have) missing++;
    else if (have.n !== want.n || have.total !== want.total) wrong++;
  }
  return { duplicates: got.duplicates, missing, wrong, extra: [...got.byWindow.keys()].filter((id) => !expected.has(id)).length };
}

/** The results file as (key|windowStart) → result, failing on any duplicate. */
function readResults(path: string): { byWindow: Map<string, { n: number; total: number }>; duplicates: string[]; lines: number } {
  const byWindow = new Map<string, { n: number; total: number }>();
  const duplicates: string[] = [];
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  for (const line of lines) {
    const r = JSON.parse(line) as { key: string; windowStart: number; n: number; total: number };
    const id = `${r.key}|${r.windowStart}`;
    if (byWindow.has(id)) duplicates.push(id);
    byWindow.set(id, { n: r.n, total: r.total });
  }
  return { byWindow, duplicates, lines: lines.length };
}

