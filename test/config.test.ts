import t from 'tap';
import { count, pipeline, session, sliding, tumbling } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

const config = (message: RegExp) => ({ code: 'ERR_KEYFLOW_CONFIG', message });

t.test('invalid options fail at start() with a clear message', async (t) => {
  const module = fixture('windows');
  await t.rejects(start({ module, workers: 0 }), config(/workers must be an integer from 1 to 1024, got 0/));
  await t.rejects(start({ module, workers: 1.5 }), config(/workers must be an integer/));
  await t.rejects(start({ module, maxKeyGroups: 0 }), config(/maxKeyGroups must be an integer from 1 to 32768/));
  await t.rejects(start({ module, workers: 8, maxKeyGroups: 4 }), config(/workers \(8\) must not exceed maxKeyGroups \(4\)/));
  await t.rejects(start({ module, onError: 'ignore' as 'skip' }), config(/onError must be 'skip' or 'fail'/));
  await t.rejects(start({ module, ringBytes: 1000 }), config(/ringBytes must be a power of two/));
  await t.rejects(start({ module, prestartSourceThreads: 'false' as unknown as boolean }), config(/prestartSourceThreads must be true or false, got false/));
  await t.rejects(start({}), config(/start\(\) needs pipelines/));
});

t.test('an unknown pipeline fails at start(), naming what exists', async (t) => {
  await t.rejects(start({ module: fixture('windows'), pipelines: ['tumbel'] }), {
    code: 'ERR_KEYFLOW_UNKNOWN_PIPELINE',
    message: /unknown pipeline 'tumbel': .*windows\.js exports .*'tumble', 'tumble-late'/,
  });
  const engine = await start({ module: fixture('windows'), pipelines: ['tumble'], workers: 1 });
  t.throws(() => engine.results('slide'), { code: 'ERR_KEYFLOW_UNKNOWN_PIPELINE', message: /unknown pipeline 'slide'; this engine runs: 'tumble'/ });
  await engine.stop();
});

t.test('windows of size <= 0 and other bad definitions fail at start()', async (t) => {
  const module = fixture('windows');
  const keyed = (name: string) => pipeline(name, { module }).keyBy((e: { k: string }) => e.k).eventTime((e: { t: number }) => e.t);
  await t.rejects(start({ pipelines: [keyed('a').window(tumbling(0)).aggregate({ n: count() })] }), config(/pipeline 'a': tumbling\(\) size must be a positive integer number of milliseconds, got 0/));
  await t.rejects(start({ pipelines: [keyed('b').window(sliding(10, -1)).aggregate({ n: count() })] }), config(/sliding\(\) slide must be a positive integer/));
  await t.rejects(start({ pipelines: [keyed('c').window(sliding(10, 20)).aggregate({ n: count() })] }), config(/slide \(20\) must not exceed its size \(10\)/));
  await t.rejects(start({ pipelines: [keyed('d').window(session(-5)).aggregate({ n: count() })] }), config(/session\(\) gap must be a positive integer/));
  await t.rejects(start({ pipelines: [pipeline('e', { module }).window(tumbling(10)).aggregate({ n: count() })] }), config(/window\(\) needs keyBy\(\) first.*\n.*window\(\) needs eventTime\(\)/));
  await t.rejects(start({ pipelines: [keyed('f').window(tumbling(10))] }), config(/window\(\) needs aggregate/));
  await t.rejects(start({ pipelines: [keyed('g').window(tumbling(10), { allowedLatenessMs: -1 }).aggregate({ n: count() })] }), config(/allowedLatenessMs must be a number >= 0/));
  await t.rejects(start({ pipelines: [keyed('h').window(session(10)).aggregate({ x: { init: () => 0, add: (a: number) => a, result: (a: number) => a } })] }), config(/aggregate\(s\) x need a merge\(\) function/));
  await t.rejects(start({ pipelines: [keyed('i').map((e) => e).window(tumbling(10)).aggregate({ n: count() })] }), config(/map\(\) must come before keyBy\(\)/));
  await t.rejects(start({ pipelines: [keyed('j').window(tumbling(10)).aggregate({ key: count() })] }), config(/aggregate name 'key' clashes/));
  await t.rejects(start({ pipelines: [keyed('k').window(tumbling(10)).aggregate({ n: count() }), keyed('k').window(tumbling(10)).aggregate({ n: count() })] }), config(/two pipelines are named 'k'/));
});

t.test('a pipeline its module does not export fails at start(), saying why', async (t) => {
  // Defined here but claimed to live in the fixture module, which does not export it.
  const orphan = pipeline('orphan', { module: fixture('windows') }).keyBy((e: { k: string }) => e.k);
  await t.rejects(start({ pipelines: [orphan], workers: 1 }), { code: 'ERR_KEYFLOW_PIPELINE_MODULE', message: /pipeline 'orphan' is not exported by .*windows\.js/ });
});

t.test('a pipeline built by a helper in another module runs when start() names the module that exports it', async (t) => {
  const engine = await start({ module: fixture('factory-made'), workers: 2 });
  const results: Array<{ key: string; n: number }> = [];
  engine.results<{ key: string; n: number }>('factory-made').on('data', (r) => results.push(r));
  await engine.ingest([{ k: 'a', t: 1 }, { k: 'a', t: 2 }, { k: 'b', t: 3 }]);
  await engine.stop();
  t.same(results.map((r) => `${r.key}:${r.n}`).sort(), ['a:2', 'b:1']);
});
