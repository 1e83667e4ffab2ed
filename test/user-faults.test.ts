import t from 'tap';
import { fixture, runEngine, sorted } from './helpers/collect.js';

// Every event counts itself in its key's state first; a faulty call must be rolled back, so the count
// in the next result of the key shows whether it was.
const events = [
  { k: 'a' },
  { k: 'a', fault: 'undefined' },
  { k: 'b' },
  { k: 'a', fault: 'function' },
  { k: 'a', fault: 'symbol' },
  { k: 'a', fault: 'bigint' },
  { k: 'a', fault: 'async' },
  { k: 'a', fault: 'exit' },
  { k: 'a' },
  { k: 'b', fault: 'async-timer' },
];

t.test('faults in a process function become dead letters; the run goes on and the faulty calls are rolled back', async (t) => {
  for (const workers of [1, 2]) {
    // Two ingest calls: the async call's continuation runs between them, while the context still holds key 'a'.
    const run = await runEngine({ module: fixture('user-faults'), workers }, [events.slice(0, 8), events.slice(8)]);
    t.same(sorted(run.results.faulty), sorted([{ k: 'a', n: 1 }, { k: 'b', n: 1 }, { k: 'a', n: 2 }, { k: 'b', n: 2 }]),
      `${workers} worker(s): the other results are intact, and no faulty call left state or output behind`);
    const dead = [...run.errors].sort((x, y) => x.position - y.position);
    const onEvent = dead.filter((d) => d.stage === 'process');
    t.same(onEvent.map((d) => d.position), [1, 3, 4, 5, 6, 7], 'one dead letter per faulty onEvent call');
    for (const d of onEvent) t.match(d, { code: 'ERR_KEYFLOW_USER_FUNCTION', pipeline: 'faulty', key: 'a', source: 'ingest', event: events[d.position] });
    const message = (position: number) => onEvent.find((d) => d.position === position)?.message;
    t.match(message(1), /^process\(\) of pipeline 'faulty' at ingest event #1 \(key "a"\): TypeError: ctx\.emit\(\) got undefined/);
    t.match(message(3), /ctx\.emit\(\) got a function/);
    t.match(message(4), /ctx\.emit\(\) got a symbol/);
    t.match(message(5), /ctx\.emit\(\) got a bigint/);
    t.match(message(6), /onEvent\(\) returned a promise: process functions must be synchronous/);
    t.match(message(7), /process\.exit\(3\) was called in a keyflow actor thread/);
    const timer = dead.filter((d) => d.stage === 'onTimer');
    t.equal(timer.length, 1, 'the promise-returning onTimer call is a dead letter too');
    t.match(timer[0], { code: 'ERR_KEYFLOW_USER_FUNCTION', pipeline: 'faulty', key: 'b', source: 'timer', message: /onTimer\(\) returned a promise/ });
    t.equal(run.summary.errors, 7);
    t.equal(run.summary.results, 4);
  }
});
