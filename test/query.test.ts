import t from 'tap';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

t.test('query() returns a key’s open windows with their results so far, from the owning actor', async (t) => {
  const engine = await start({ module: fixture('windows'), pipelines: ['tumble', 'session'], workers: 2 });
  await engine.ingest([{ k: 'a', t: 1 }, { k: 'a', t: 5 }, { k: 'b', t: 7 }]);
  t.same(await engine.query('tumble', 'a'), { key: 'a', windows: [{ windowStart: 0, windowEnd: 10, n: 2, times: [1, 5] }] });
  t.same(await engine.query('tumble', 'b'), { key: 'b', windows: [{ windowStart: 0, windowEnd: 10, n: 1, times: [7] }] });
  t.equal(await engine.query('tumble', 'nobody'), undefined, 'a key with no state');
  t.same(await engine.query('session', 'a'), { key: 'a', windows: [{ windowStart: 1, windowEnd: 15, n: 2, times: [1, 5] }] });
  // a12 moves the watermark to 11: [0,10) fires and is dropped; [10,20) opens.
  await engine.ingest([{ k: 'a', t: 12 }]);
  t.same(await engine.query('tumble', 'a'), { key: 'a', windows: [{ windowStart: 10, windowEnd: 20, n: 1, times: [12] }] });
  await t.rejects(engine.query('nope', 'a'), { code: 'ERR_KEYFLOW_UNKNOWN_PIPELINE' });
  await engine.stop();
});

t.test('query() reads a process function’s value, map and list state', async (t) => {
  const engine = await start({ module: fixture('process'), workers: 2 });
  await engine.ingest([{ k: 'a', t: 1, c: 'r' }, { k: 'a', t: 2, c: 'g' }, { k: 'a', t: 3, c: 'r' }]);
  t.same(await engine.query('counter', 'a'), { key: 'a', values: { n: 3 }, maps: { colours: [['r', 2], ['g', 1]] }, lists: { times: [1, 2, 3] } });
  await engine.stop();
});

t.test('query() of a pipeline without keyBy is refused with a clear error', async (t) => {
  const engine = await start({ module: fixture('unkeyed'), workers: 1 });
  await t.rejects(engine.query('unkeyed', 'x'), { code: 'ERR_KEYFLOW_CONFIG', message: /pipeline 'unkeyed' has no keyBy\(\), so it keeps no keyed state/ });
  await engine.stop();
});

t.test('query() of a window whose result() throws reports the error in that window', async (t) => {
  const engine = await start({ module: fixture('fragile'), workers: 1 });
  await engine.ingest([{ k: 'a', t: 1 }]);
  t.same(await engine.query('fragile', 'a'), { key: 'a', windows: [{ windowStart: 0, windowEnd: 10, n: 1 }] });
  await engine.ingest([{ k: 'a', t: 2 }]);
  t.same(await engine.query('fragile', 'a'), { key: 'a', windows: [{ windowStart: 0, windowEnd: 10, error: 'Error: too many' }] });
  await engine.stop();
});

t.test('query() and operatorState() after stop() reject instead of waiting forever', { timeout: 60_000 }, async (t) => {
  const engine = await start({ module: fixture('windows'), pipelines: ['tumble'], workers: 2 });
  await engine.ingest([{ k: 'a', t: 1 }]);
  await engine.stop();
  await t.rejects(engine.query('tumble', 'a'), { code: 'ERR_KEYFLOW_STOPPED', message: /the engine has stopped/ });
  await t.rejects(engine.operatorState('tumble'), { code: 'ERR_KEYFLOW_STOPPED' });
});
