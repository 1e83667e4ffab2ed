import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedResults } from './fixtures/crash-events.js';
import { compareResults, killTimes, lineCount, runChild } from './helpers/crash.js';

/**
 * Run the producer child again and again on one state directory, killing it with SIGKILL at random
 * moments, `kills` times over the given worker counts, then let a last run finish. Every fourth kill comes
 * 0 to 300 ms after the start (while starting or recovering); the others after 1 to 11 more acknowledged
 * batches and 0 to 40 ms (while ingesting, snapshotting every 25 ms, or truncating the WAL). Returns how
 * many kills fell mid-ingest.
 */
async function crashAndFinish(t: Tap, dir: string, events: number, phases: Array<{ workers: number; kills: number }>, seed: number, env: Record<string, string> = {}) {
  const random = killTimes(seed);
  const acks = join(dir, 'acks.log');
  let midIngest = 0;
  let kills = 0;
  for (const phase of phases) {
    const args = [join(dir, 'state'), join(dir, 'results.ndjson'), acks, String(events), String(phase.workers)];
    for (let k = 0; k < phase.kills; k++) {
      const before = lineCount(acks);
      const early = k % 4 === 0;
      const plan = early
        ? { ackLog: acks, acks: 0, jitterMs: Math.floor(random() * 300) }
        : { ackLog: acks, acks: 1 + Math.floor(random() * 11), jitterMs: Math.floor(random() * 40) };
      const run = await runChild(args, plan, env);
      if (run.signal !== 'SIGKILL') {
        t.equal(run.code, 0, run.stderr);
        break; // it finished before the kill: nothing more to crash
      }
      kills++;
      if (lineCount(acks) > before) midIngest++;
    }
  }
  const last = phases[phases.length - 1];
  const final = await runChild([join(dir, 'state'), join(dir, 'results.ndjson'), acks, String(events), String(last.workers)], undefined, env);
  t.equal(final.code, 0, final.stderr);
  return { kills, midIngest };
}

function checkExact(t: Tap, dir: string, events: number) {
  const diff = compareResults(join(dir, 'results.ndjson'), expectedResults(events));
  t.same(diff.duplicates, [], 'no result is written twice');
  t.equal(diff.missing, 0, 'no result is missing');
  t.equal(diff.wrong, 0, 'every window counts every event exactly once');
  t.equal(diff.extra, 0, 'no result that should not exist');
}

type Tap = Test;

// Both state backends, the same tests. LMDB keeps 64 keys per actor in memory (see crash-child.ts): nearly
// every key is written back and read again, across the crashes, the restores and the rescaling.
const BACKENDS: Array<[string, Record<string, string>]> = [['memory', {}], ['lmdb', { STATE_BACKEND: 'lmdb' }]];

for (const [backend, env] of BACKENDS) {
  t.test(`${backend} state: SIGKILL at random moments, 24 times: every acknowledged event counted once, every result written once`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'keyflow-crash-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const events = 250_000;
    const { kills, midIngest } = await crashAndFinish(t, dir, events, [{ workers: 2, kills: 24 }], 12345, env);
    t.ok(kills >= 20, `${kills} SIGKILLs`);
    t.ok(midIngest >= 10, `${midIngest} of them after batches had been acknowledged (mid-ingest)`);
    checkExact(t, dir, events);
  });

  t.test(`${backend} state: rescaling across crashes, 4 → 2 → 3 workers, killed in each phase`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'keyflow-rescale-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const events = 150_000;
    const { kills } = await crashAndFinish(t, dir, events, [{ workers: 4, kills: 3 }, { workers: 2, kills: 3 }, { workers: 3, kills: 2 }], 777, env);
    t.ok(kills >= 6, `${kills} SIGKILLs across the three worker counts`);
    checkExact(t, dir, events);
  });
}
