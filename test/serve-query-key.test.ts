import t from 'tap';
import { serve } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

t.test('GET /query reads ?key= as JSON when it parses: 7 is the number, "7" the string, anything else text', async (t) => {
  const engine = await start({ module: fixture('process'), workers: 2 });
  t.teardown(() => engine.stop());
  await engine.ingest([{ k: 7, t: 1, c: 'r' }, { k: '7', t: 2, c: 'g' }, { k: '7', t: 3, c: 'g' }, { k: 'seven', t: 4, c: 'b' }]);
  const serving = await serve(engine, { port: 0 });
  t.teardown(() => serving.close());
  const ask = async (key: string) => {
    const res = await fetch(`${serving.url}/query/counter?key=${encodeURIComponent(key)}`);
    t.equal(res.status, 200, `?key=${key}`);
    return ((await res.json()) as { values: { n: number } }).values.n;
  };
  t.equal(await ask('7'), 1, 'the number key');
  t.equal(await ask('"7"'), 2, 'the string key');
  t.equal(await ask('seven'), 1, 'not JSON: the text itself');
});
