/**
 * Actor threads outlive a cleanly ended engine, for the next engine in the process (idle-actors.ts): the
 * next engine runs on them exactly as on new threads; a failed engine's threads are ended; a kept thread
 * has let go of its run's files, and does not keep the process alive.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, threadExecArgv } from './helpers/start.js';
import { fixture } from './helpers/collect.js';
import { runNode } from './helpers/cli.js';
import { endIdleActors } from '../lib/calling-thread/idle-actors.js';
import { afterFailure } from '../lib/shared/ignore.js';
import type { StartOptions } from '../lib/index.js';

const MODULE = fixture('thread-ids');
type Counted = { k: string; n: number; thread: number };

function stateDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyflow-idle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One engine's run: `events`, its results and the threads that produced them. */
async function run(options: Omit<StartOptions, 'module'>, events: Array<{ k: string; fail?: true; stray?: true }>): Promise<{ results: Counted[]; threads: Set<number> }> {
  const engine = await start({ module: MODULE, ...options });
  const results: Counted[] = [];
  engine.results<Counted>('counted').on('data', (r) => results.push(r));
  await engine.ingest(events);
  await engine.stop();
  return { results, threads: new Set(results.map((r) => r.thread)) };
}

const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
const once = keys.map((k) => ({ k }));

t.test('the next engine runs on the threads an engine let go, restoring its state as a new thread would', async (t) => {
  await endIdleActors();
  const dir = stateDir(t);
  const first = await run({ workers: 2, stateDir: dir }, once);
  t.equal(first.threads.size, 2, 'two actors counted');
  t.same(first.results.map((r) => r.n), keys.map(() => 1));
  const second = await run({ workers: 2, stateDir: dir }, once);
  t.same([...second.threads].sort(), [...first.threads].sort(), 'the same two threads ran the second engine');
  t.same(second.results.map((r) => `${r.k}:${r.n}`).sort(), keys.map((k) => `${k}:2`).sort(), 'each key went on from the first engine\'s count');
  // A third engine with the LMDB backend on the same threads, then the memory backend again.
  const third = await run({ workers: 2, stateDir: dir, stateBackend: 'lmdb' }, once);
  t.same([...third.threads].sort(), [...first.threads].sort());
  t.same(third.results.map((r) => `${r.k}:${r.n}`).sort(), keys.map((k) => `${k}:3`).sort());
  const fourth = await run({ workers: 2, stateDir: dir }, once);
  t.same(fourth.results.map((r) => `${r.k}:${r.n}`).sort(), keys.map((k) => `${k}:4`).sort());
});

t.test('a failed engine\'s threads are ended, not kept', async (t) => {
  await endIdleActors();
  const engine = await start({ module: MODULE, workers: 1, onError: 'fail' });
  const threads = new Set<number>();
  engine.results<Counted>('counted').on('data', (r) => threads.add(r.thread));
  await engine.ingest([{ k: 'a' }]).catch(afterFailure);
  await engine.ingest([{ k: 'b', fail: true }]).catch(afterFailure);
  await t.rejects(engine.stop(), /fails on purpose/);
  t.equal(threads.size, 1, 'the failed engine\'s actor counted its first event');
  const next = await run({ workers: 1 }, [{ k: 'a' }]);
  t.equal(next.threads.size, 1);
  t.notOk(threads.has([...next.threads][0]), 'the next engine runs on a new thread');
});

t.test('a kept thread that fails while it waits is dropped: the next engine starts a new one', async (t) => {
  await endIdleActors();
  const strayed = await run({ workers: 1, keepActorThreadsMs: 60_000 }, [{ k: 'a', stray: true }]);
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // the stray timer ends the thread meanwhile
  const next = await run({ workers: 1 }, once);
  t.notOk(strayed.threads.has([...next.threads][0]), 'a new thread');
  t.same(next.results.map((r) => r.n), keys.map(() => 1), 'which counted every key');
});

t.test('engines started together share out the kept threads: none runs on another\'s', async (t) => {
  await endIdleActors();
  const before = await run({ workers: 2 }, once);
  const [a, b] = await Promise.all([run({ workers: 2 }, once), run({ workers: 2 }, once)]);
  t.same(a.results.map((r) => r.n), keys.map(() => 1), 'the first counted every key once');
  t.same(b.results.map((r) => r.n), keys.map(() => 1), 'and so did the second');
  t.equal(a.threads.size + b.threads.size, 4, 'two threads each');
  t.notOk([...a.threads].some((id) => b.threads.has(id)), 'no thread ran both');
  t.equal([...before.threads].filter((id) => a.threads.has(id) || b.threads.has(id)).length, 2, 'the two kept threads were taken');
});

t.test('a thread started with another environment is not taken (it has its copy of process.env)', async (t) => {
  await endIdleActors();
  process.env.KEYFLOW_TEST_IDLE = 'one';
  t.teardown(() => delete process.env.KEYFLOW_TEST_IDLE);
  const first = await run({ workers: 1 }, once);
  process.env.KEYFLOW_TEST_IDLE = 'two';
  const second = await run({ workers: 1 }, once);
  t.notOk(first.threads.has([...second.threads][0]), 'a new thread once the environment changed');
  const third = await run({ workers: 1 }, once);
  t.same([...third.threads], [...second.threads], 'and the kept one while it stays the same');
});

t.test('a thread started with other heap limits is not taken', async (t) => {
  await endIdleActors();
  const small = await run({ workers: 1, actorResourceLimits: { maxYoungGenerationSizeMb: 16 } }, once);
  const usual = await run({ workers: 1 }, once);
  t.notOk(small.threads.has([...usual.threads][0]), 'a new thread for the default limits');
  const again = await run({ workers: 1, actorResourceLimits: { maxYoungGenerationSizeMb: 16 } }, once);
  t.same([...again.threads], [...small.threads], 'the kept thread of those limits for the same limits');
});

t.test('a kept thread has closed its run\'s files: engine after engine opens no more', async (t) => {
  if (process.platform !== 'linux') {
    t.pass('skipped: counts open files in /proc/self/fd (Linux only)');
    return;
  }
  await endIdleActors();
  const open = () => readdirSync('/proc/self/fd').length;
  const counts: number[] = [];
  for (let i = 0; i < 6; i++) {
    const dir = stateDir(t);
    await run({ workers: 2, stateDir: dir, stateBackend: i % 2 === 0 ? 'memory' : 'lmdb' }, once);
    counts.push(open());
  }
  // The first two engines start the threads (and their handles); after that a file left open would add one per engine.
  t.same(counts.slice(2), counts.slice(2).map(() => counts[1]), `open files after each engine: ${counts.join(', ')}`);
});

t.test('keepActorThreadsMs: 0 ends the threads at stop(); it is validated', async (t) => {
  await endIdleActors();
  const ended = await run({ workers: 1, keepActorThreadsMs: 0 }, once);
  const next = await run({ workers: 1 }, once);
  t.notOk(ended.threads.has([...next.threads][0]), 'the next engine runs on a new thread');
  await t.rejects(start({ module: MODULE, keepActorThreadsMs: -1 }), { code: 'ERR_KEYFLOW_CONFIG', message: /keepActorThreadsMs must be an integer from 0/ });
});

t.test('kept threads do not keep the process alive', async (t) => {
  const script = `
    const { start } = await import(${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)});
    const engine = await start({ module: ${JSON.stringify(MODULE)}, workers: 2, keepActorThreadsMs: 600000, execArgv: ${JSON.stringify(threadExecArgv)} });
    await engine.ingest([{ k: 'a' }, { k: 'b' }]);
    await engine.stop();`;
  // Threads that held the process would hold it for ten minutes: the child is killed (timedOut) after one.
  const ran = await runNode(['--input-type=module', '-e', script], { timeoutMs: 60_000 });
  t.equal(ran.timedOut, false, 'the process ended on its own');
  t.equal(ran.code, 0, ran.stderr);
});
