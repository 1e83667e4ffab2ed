import t from 'tap';
import { alignDown } from '../lib/pipeline/windows/window.js';
import { fixture, runEngine } from './helpers/collect.js';

/** The reference: step by whole windows from a rough guess until [start, start + step) holds t. */
function reference(t: number, step: number): number {
  let m = Math.trunc(t / step);
  while (m * step > t) m--;
  while ((m + 1) * step <= t) m++;
  return m * step + 0;
}

t.test('a window start is the largest multiple of the size at or below t, for any finite time', async (t) => {
  const cases: Array<[number, number, number]> = [
    [0, 100, 0], [99, 100, 0], [100, 100, 100], [12.7, 100, 0], [99.99999999999999, 100, 0],
    [-1, 100, -100], [-100, 100, -100], [-Number.MIN_VALUE, 100, -100], [-100.5, 100, -200], [-0.5, 100, -100], [-1e-300, 10, -10],
    [7399.63, 100, 7300], [8.64e15 - 1, 1000, 8.64e15 - 1000], [-8.64e15 + 1, 1000, -8.64e15], [1e15 + 0.5, 1000, 1e15],
  ];
  for (const [time, step, want] of cases) t.equal(alignDown(time, step), want, `alignDown(${time}, ${step})`);
  t.ok(Object.is(alignDown(-0, 100), 0), '-0 starts the window at 0, not -0');
  let seed = 7;
  const random = () => ((seed = (Math.imul(seed, 48271) >>> 0) % 2147483647) / 2147483647);
  for (let i = 0; i < 20_000; i++) {
    const step = 1 + Math.floor(random() * 5000);
    const time = (random() - 0.5) * 10 ** (1 + Math.floor(random() * 14)) * (i % 2 === 0 ? 1 : 0.37);
    const got = alignDown(time, step);
    if (got !== reference(time, step) || !(got <= time && time < got + step)) {
      t.fail(`alignDown(${time}, ${step}) = ${got}, want ${reference(time, step)}`);
      return;
    }
  }
  t.pass('20,000 random times in [start, start + size)');
});

t.test('fractional event times fall into exactly one window each', async (t) => {
  // 20,000 events at t = i * 0.37 in tumbling(10) windows of one key, sliding(10, 5) too.
  const events = Array.from({ length: 20_000 }, (_, i) => ({ k: 'a', t: i * 0.37 }));
  const run = await runEngine({ module: fixture('windows'), pipelines: ['tumble', 'slide'], workers: 2 }, [events]);
  for (const [name, size, slide] of [['tumble', 10, 10], ['slide', 10, 5]] as const) {
    const results = run.results[name] as Array<{ windowStart: number; windowEnd: number; n: number; times: number[] }>;
    const starts = results.map((r) => r.windowStart);
    t.equal(new Set(starts).size, starts.length, `${name}: one result per window`);
    t.ok(starts.every((s) => Number.isInteger(s) && s % slide === 0), `${name}: every window starts at a multiple of ${slide}`);
    const expected = new Map<number, number>();
    for (const e of events) {
      for (let s = reference(e.t, slide); s > e.t - size; s -= slide) expected.set(s, (expected.get(s) ?? 0) + 1);
    }
    t.same(new Map(results.map((r) => [r.windowStart, r.n])), expected, `${name}: each window counts exactly its events`);
    t.ok(results.every((r) => r.times.every((x) => r.windowStart <= x && x < r.windowEnd)), `${name}: every time lies in its window`);
  }
  t.same(run.late, {}, 'nothing is late');
});
