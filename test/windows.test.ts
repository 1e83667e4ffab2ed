import t, { type Test } from 'tap';
import { fixture, runEngine, sorted } from './helpers/collect.js';

const ev = (k: string, time: number) => ({ k, t: time });
const win = (key: string, windowStart: number, windowEnd: number, times: number[]) => ({ key, windowStart, windowEnd, n: times.length, times });

/**
 * Run `pipeline` over `events` (as one batch, and as one ingest() per event, with 1 and 2 workers:
 * all four must agree), and return the sorted results and late events.
 */
async function check(t: Test, pipeline: string, events: Array<{ k: string; t: number }>, expected: { results: unknown[]; late: unknown[] }) {
  const runs = [
    await runEngine({ module: fixture('windows'), pipelines: [pipeline], workers: 1 }, [events]),
    await runEngine({ module: fixture('windows'), pipelines: [pipeline], workers: 2 }, [events]),
    await runEngine({ module: fixture('windows'), pipelines: [pipeline], workers: 2 }, events.map((e) => [e])),
  ];
  for (const [i, run] of runs.entries()) {
    t.same(sorted(run.results[pipeline]), sorted(expected.results), `results (run ${i + 1})`);
    t.same(sorted(run.late[pipeline]), sorted(expected.late), `late events (run ${i + 1})`);
    t.same(run.errors, [], `no errors (run ${i + 1})`);
  }
}

// Watermark = max time seen - outOfOrder - 1, as it stood just before each event.

t.test('tumbling windows fire at end - 1 and later events are late', async (t) => {
  // wm before each: a1 -inf, b7 0, a5 6, a12 6, a3 11 ([0,10) closed at 9: late), a25 11, a19 24 ([10,20) closed: late)
  const events = [ev('a', 1), ev('b', 7), ev('a', 5), ev('a', 12), ev('a', 3), ev('a', 25), ev('a', 19)];
  await check(t, 'tumble', events, {
    results: [win('a', 0, 10, [1, 5]), win('b', 0, 10, [7]), win('a', 10, 20, [12]), win('a', 20, 30, [25])],
    late: [ev('a', 3), ev('a', 19)],
  });
});

t.test('allowed lateness re-fires a window with each late event, then drops it', async (t) => {
  // lateness 5: [0,10) fires when wm reaches 9 (at a3, wm 11) and stays until 14, so a3 re-fires it;
  // [10,20) fires at 19 and is dropped at 24, so a19 (wm 24) is late.
  const events = [ev('a', 1), ev('b', 7), ev('a', 5), ev('a', 12), ev('a', 3), ev('a', 25), ev('a', 19)];
  await check(t, 'tumble-late', events, {
    results: [win('a', 0, 10, [1, 5]), win('b', 0, 10, [7]), win('a', 0, 10, [1, 3, 5]), win('a', 10, 20, [12]), win('a', 20, 30, [25])],
    late: [ev('a', 19)],
  });
});

t.test('sliding windows: every window of size 10 every 5 that holds the event', async (t) => {
  // a1 → [-5,5) [0,10); a7 → [0,10) [5,15); a12 (wm 6) → [5,15) [10,20); a2 at wm 11: both its windows closed → late
  await check(t, 'slide', [ev('a', 1), ev('a', 7), ev('a', 12), ev('a', 2)], {
    results: [win('a', -5, 5, [1]), win('a', 0, 10, [1, 7]), win('a', 5, 15, [7, 12]), win('a', 10, 20, [12])],
    late: [ev('a', 2)],
  });
});

t.test('session windows merge when they overlap or touch', async (t) => {
  const events = [
    ev('a', 0), ev('a', 5), ev('a', 30), ev('a', 20), // [0,15) and [20,40) (20's window touches 30's)
    ev('b', 0), ev('b', 10), // touching at 10: one session [0,20)
    ev('c', 0), ev('c', 11), // a gap of 1: two sessions
    ev('d', 0), ev('d', 20), ev('d', 10), // 10 bridges two sessions: [0,30)
  ];
  await check(t, 'session', events, {
    results: [
      win('a', 0, 15, [0, 5]), win('a', 20, 40, [20, 30]),
      win('b', 0, 20, [0, 10]),
      win('c', 0, 10, [0]), win('c', 11, 21, [11]),
      win('d', 0, 30, [0, 10, 20]),
    ],
    late: [],
  });
});

t.test('session windows: a late event goes to the late output', async (t) => {
  // a50 moves the watermark to 49; a5's session [5,15) closed at 14 → late.
  // e0 then f10 (wm 9): e's [0,10) fires and is dropped, so e10 opens a new session, as in Flink.
  await check(t, 'session-late', [ev('a', 0), ev('a', 50), ev('a', 5)], {
    results: [win('a', 0, 10, [0]), win('a', 50, 60, [50])],
    late: [ev('a', 5)],
  });
  await check(t, 'session-late', [ev('e', 0), ev('f', 10), ev('e', 10)], {
    results: [win('e', 0, 10, [0]), win('f', 10, 20, [10]), win('e', 10, 20, [10])],
    late: [],
  });
});

t.test('a late event inside a session that has fired re-fires it, unchanged in bounds', async (t) => {
  // lateness 20: a's one session [0,18) fires at wm 29 (a2 arrives) and is kept until 37; a2's [2,12) lies inside it.
  await check(t, 'session-lateness', [ev('a', 0), ev('a', 8), ev('b', 30), ev('a', 2)], {
    results: [win('a', 0, 18, [0, 8]), win('a', 0, 18, [0, 2, 8]), win('b', 30, 40, [30])],
    late: [],
  });
});

t.test('session windows within allowed lateness merge and re-fire', async (t) => {
  // lateness 20: [0,10) fires at wm 24 (a5 arrives), a5 merges into [0,15), which is already due: fires at once.
  await check(t, 'session-lateness', [ev('a', 0), ev('a', 25), ev('a', 5)], {
    results: [win('a', 0, 10, [0]), win('a', 0, 15, [0, 5]), win('a', 25, 35, [25])],
    late: [],
  });
});
