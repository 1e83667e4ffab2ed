/**
 * The crash tests: a producer child (test/fixtures/crash-child.ts) killed with SIGKILL at random moments
 * and run again on one state directory, then its results compared with the exact expectation. Each
 * scenario × state backend is a test file of its own (test/crash-*.test.ts), so none runs long.
 */
// Child processes run without the test runner's module hooks (see start.ts).
import './start.js';
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectedJoinedResults, expectedResults } from '../fixtures/crash-events.js';
import { JOIN_MS } from '../fixtures/durable-joined.js';
import { compareResults } from './results-file.js';
import { prng } from './prng.js';
import { nodeCommand } from './node-child.js';

const CHILD = fileURLToPath(new URL('../fixtures/crash-child.js', import.meta.url));

/** A child still running after this long has hung: it is killed and the test fails saying so. */
const CHILD_TIMEOUT_MS = 120_000;

/**
 * How many times more kills a run makes than the suite's: KEYFLOW_CRASH_SOAK=1 makes four times as many (a
 * few minutes per file; run them with tap's --timeout raised). Each kill is a child process started and
 * recovering, about a second of both cores.
 */
export const CRASH_SOAK = process.env.KEYFLOW_CRASH_SOAK === '1' ? 4 : 1;

/** At least this share of `planned` kills: a run that finishes before its kill is not one. */
export const most = (planned: number, share: number) => Math.ceil(planned * share);

export interface ChildRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * When to SIGKILL the child: once its acknowledgement log has grown by `acks` lines (0: at once), plus
 * `jitterMs`. Killing by progress rather than by the clock puts kills at the same kind of moment on a
 * fast or a loaded machine.
 */
export interface KillPlan {
  ackLog: string;
  acks: number;
  jitterMs: number;
}

/** Run the crash child, killing it with SIGKILL as planned (if a plan is given); a hang fails the test. */
export function runChild(args: string[], kill?: KillPlan, env: Record<string, string> = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(...nodeCommand([CHILD, ...args]), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const hang = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    let poll: NodeJS.Timeout | null = null;
    if (kill) {
      const target = lineCount(kill.ackLog) + kill.acks;
      poll = setInterval(() => {
        if (lineCount(kill.ackLog) < target) return;
        clearInterval(poll!);
        setTimeout(() => child.kill('SIGKILL'), kill.jitterMs);
      }, 2);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(hang);
      if (poll) clearInterval(poll);
      if (timedOut) reject(new Error(`the crash child ${args.join(' ')} still ran after ${CHILD_TIMEOUT_MS / 1000} s: killed. stderr:\n${stderr}`));
      else resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Lines in a file (0 if it does not exist). */
function lineCount(path: string): number {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/**
 * Run the producer child again and again on one state directory, killing it with SIGKILL at random
 * moments, `kills` times over the given worker counts, then let a last run finish. Every fourth kill comes
 * 0 to 300 ms after the start (while starting or recovering); the others after 1 to 11 more acknowledged
 * batches and 0 to 40 ms (while ingesting, snapshotting every 25 ms, or truncating the WAL). With
 * `headStart`, a first run kills itself once that batch is acknowledged, so that the random kills fall where
 * results have been written already (a job whose windows fire every 20 batches would otherwise have written
 * none before its last run). Returns how many kills fell mid-ingest.
 */
async function crashAndFinish(t: Tap, dir: string, events: number, phases: Array<{ workers: number; kills: number }>, seed: number, env: Record<string, string>, headStart?: number) {
  const random = prng(seed);
  const acks = join(dir, 'acks.log');
  const results = join(dir, 'results.ndjson');
  let midIngest = 0;
  let kills = 0;
  if (headStart !== undefined) {
    const run = await runChild([join(dir, 'state'), results, acks, String(events), String(phases[0].workers)], undefined, { ...env, KILL_AFTER_BATCH: String(headStart) });
    t.equal(run.signal, 'SIGKILL', `a first run to batch ${headStart}, then a kill ${run.stderr}`);
  }
  for (const phase of phases) {
    const args = [join(dir, 'state'), results, acks, String(events), String(phase.workers)];
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
  // The last run, never killed, takes the bulk of the input: checkpoints every 25 ms would make it most of
  // the test's time on a busy machine, for no kill to fall between them.
  const last = phases[phases.length - 1];
  const written = lineCount(results);
  const final = await runChild([join(dir, 'state'), results, acks, String(events), String(last.workers)], undefined, { ...env, SNAPSHOT_EVERY_MS: '250' });
  if (headStart !== undefined) t.ok(lineCount(results) > written && written > 0, `results written across the kills (${written}) and after them`);
  t.equal(final.code, 0, final.stderr);
  return { kills, midIngest };
}

function checkExact(t: Tap, dir: string, events: number, expected = expectedResults(events)) {
  const diff = compareResults(join(dir, 'results.ndjson'), expected);
  t.same(diff.duplicates, [], 'no result is written twice');
  t.equal(diff.missing, 0, 'no result is missing');
  t.equal(diff.wrong, 0, 'every window counts every event exactly once');
  t.equal(diff.extra, 0, 'no result that should not exist');
}

type Tap = Test;

async function scratch(t: Tap, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Both state backends, the same tests. LMDB keeps 64 keys per actor in memory (see crash-child.ts): nearly
 * every key is written back and read again, across the crashes, the restores and the rescaling.
 */
export type Backend = 'memory' | 'lmdb';
const BACKEND_ENV: Record<Backend, Record<string, string>> = { memory: {}, lmdb: { STATE_BACKEND: 'lmdb' } };

/** The test of random kills on one backend: 12 SIGKILLs over 250,000 events, then a run to the end. */
export function testRandomKills(backend: Backend): void {
  const planned = 12 * CRASH_SOAK;
  t.test(`${backend} state: SIGKILL at random moments, ${planned} times: every acknowledged event counted once, every result written once`, async (t) => {
    const dir = await scratch(t, 'keyflow-crash-');
    const events = 250_000;
    const { kills, midIngest } = await crashAndFinish(t, dir, events, [{ workers: 2, kills: planned }], 12345, BACKEND_ENV[backend]);
    t.ok(kills >= most(planned, 0.8), `${kills} SIGKILLs`);
    t.ok(midIngest >= most(planned, 0.4), `${midIngest} of them after batches had been acknowledged (mid-ingest)`);
    checkExact(t, dir, events);
  });
}

/** A producer with several ingest() calls in flight (each resolves once its own batch is durable): random kills. */
export function testInFlight(): void {
  t.test('four ingest() calls in flight: SIGKILL at random moments: every acknowledged event counted once, every result written once', async (t) => {
    const dir = await scratch(t, 'keyflow-crash-in-flight-');
    const events = 150_000;
    const planned = 8 * CRASH_SOAK;
    const { kills, midIngest } = await crashAndFinish(t, dir, events, [{ workers: 2, kills: planned }], 31337, { IN_FLIGHT: '4' });
    t.ok(kills >= most(planned, 0.8), `${kills} SIGKILLs`);
    t.ok(midIngest >= most(planned, 0.4), `${midIngest} of them after batches had been acknowledged (mid-ingest)`);
    checkExact(t, dir, events);
  });
}

/** The test of rescaling across crashes on one backend: 4 → 2 → 3 workers over 150,000 events. */
export function testRescaling(backend: Backend): void {
  t.test(`${backend} state: rescaling across crashes, 4 → 2 → 3 workers, killed in each phase`, async (t) => {
    const dir = await scratch(t, 'keyflow-rescale-');
    const events = 150_000;
    const phases = [{ workers: 4, kills: 3 * CRASH_SOAK }, { workers: 2, kills: 3 * CRASH_SOAK }, { workers: 3, kills: 2 * CRASH_SOAK }];
    const { kills } = await crashAndFinish(t, dir, events, phases, 777, BACKEND_ENV[backend]);
    t.ok(kills >= most(8 * CRASH_SOAK, 0.75), `${kills} SIGKILLs across the three worker counts`);
    checkExact(t, dir, events);
  });
}

/**
 * Random kills, then rescaling 2 → 3 workers, of the crash child as `env` sets it up (see crash-child.ts),
 * its results compared with `expected` (by default the one-stage job's).
 */
function testKillsAndRescaling(what: string, env: Record<string, string>, seed: number, midIngestIs: string,
                               expected?: (events: number) => Map<string, { n: number; total: number }>, headStart?: number): void {
  t.test(`${what}: SIGKILL at random moments and rescaling 2 → 3 workers: every result once and exact`, async (t) => {
    const dir = await scratch(t, 'keyflow-crash-rescaled-');
    const events = 150_000;
    const phases = [{ workers: 2, kills: 8 * CRASH_SOAK }, { workers: 3, kills: 4 * CRASH_SOAK }];
    const { kills, midIngest } = await crashAndFinish(t, dir, events, phases, seed, env, headStart);
    t.ok(kills >= most(12 * CRASH_SOAK, 0.8), `${kills} SIGKILLs`);
    t.ok(midIngest >= most(12 * CRASH_SOAK, 0.4), `${midIngest} of them ${midIngestIs}`);
    checkExact(t, dir, events, expected?.(events));
  });
}

/** The events read as a parallel source (SOURCE=ndjson). */
export const testParallelSource = () => testKillsAndRescaling('a parallel source (NDJSON through source threads)', { SOURCE: 'ndjson' }, 4242, 'while chunks were being read');

/**
 * The job in stages (JOB=staged, see durable-staged.ts: two pipelines of two stages each, window-joined in a
 * later stage), which writes what the one-stage job does.
 */
export const testStagedJob = () => testKillsAndRescaling('stages and a join of their results', { JOB: 'staged' }, 9001, 'after batches had been acknowledged (mid-ingest)', undefined, HEAD_START);

/** The job as an interval join of the events, then a window per key (JOB=joined, see durable-joined.ts). */
export const testJoinedJob = () => testKillsAndRescaling('an interval join of the events, then windows of its pairs', { JOB: 'joined' }, 4711,
  'after batches had been acknowledged (mid-ingest)', (events) => expectedJoinedResults(events, JOIN_MS), HEAD_START);

/** The batch a job's first run gets to before the random kills: past its first 100 ms windows (20 batches). */
const HEAD_START = 40;
