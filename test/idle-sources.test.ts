import t, { type Test } from 'tap';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';
import { within } from './helpers/wait.js';

const range = (from: number, to: number, k: string) => Array.from({ length: to - from }, (_, i) => ({ k, t: from + i }));

/**
 * The router judges idleness by Date.now() on the engine's thread (see lib/shared/time/source-watermarks.ts).
 * This test moves that clock itself, so however busy the machine, a source goes idle exactly when the
 * test lets idleAfterMs (300 in fixtures/idle.ts) pass, and never between two ingest() calls. The
 * engine's idleness timer still runs on real time; the worker threads keep the real clock.
 */
function testClock(t: Test): { advance: (ms: number) => void } {
  const real = Date.now;
  let now = real();
  Date.now = () => now;
  t.teardown(() => { Date.now = real; });
  return { advance: (ms) => { now += ms; } };
}

t.test('an idle source stops holding the watermark back, and holds it again once it sends', async (t) => {
  const clock = testClock(t);
  const engine = await start({ module: fixture('idle'), workers: 2 });
  const results: Record<string, any[]> = { idle: [], strict: [] };
  const late: any[] = [];
  let sawWindow80!: () => void;
  const window80 = new Promise<void>((resolve) => (sawWindow80 = resolve));
  engine.results('idle').on('data', (r) => {
    results.idle.push(r);
    if (r.windowStart === 80) sawWindow80();
  });
  engine.results('strict').on('data', (r) => results.strict.push(r));
  engine.late('idle').on('data', (e) => late.push(e));

  // Source A sends one event and then nothing; B goes on to 95. The watermark is the least of the two.
  await engine.ingest([{ k: 'x', t: 0 }], { source: 'A' });
  await engine.ingest(range(0, 96, 'y'), { source: 'B' });
  // Once A has been silent for 300 ms it no longer counts: B's windows up to [80, 90) fire, with no
  // further input. Without idleness ('strict'), A holds every window open.
  clock.advance(300);
  await within(window80, 'window [80, 90) of the idle pipeline, once A had been silent for idleAfterMs');
  t.same(results.idle.filter((r) => r.key === 'y').map((r) => r.windowStart), [0, 10, 20, 30, 40, 50, 60, 70, 80]);
  t.same(results.strict, [], 'without idleAfterMs the silent source stalls the windows');

  // A sends again (at 100): it holds the watermark again, so B's later events do not make A's next event late.
  await engine.ingest([{ k: 'x', t: 100 }], { source: 'A' });
  await engine.ingest(range(200, 250, 'y'), { source: 'B' });
  await engine.ingest([{ k: 'x', t: 105 }], { source: 'A' });
  await engine.stop();
  t.same(late, [], 'A is active again: its event at 105 is not late');
  t.match(results.idle.filter((r) => r.key === 'x'), [{ windowStart: 0, n: 1 }, { windowStart: 100, n: 2 }]);
  t.equal(results.strict.length, results.idle.length, 'at the end both have fired every window');
});

t.test('idleAfterMs must be a positive number', async (t) => {
  const { pipeline } = await import('../lib/index.js');
  const bad = pipeline('bad-idle').keyBy((e: { k: string }) => e.k).eventTime(() => 0, { idleAfterMs: -1 }).process({ onEvent() {} });
  await t.rejects(start({ pipelines: [bad], workers: 1 }), { code: 'ERR_KEYFLOW_CONFIG', message: /idleAfterMs must be a number > 0, got -1/ });
});
