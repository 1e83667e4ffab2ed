import t from 'tap';
import { serve } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';
import { until } from './helpers/wait.js';

t.test('serve(): malformed percent-encoding in the path or the key is a 400 saying so, not a 500 or another key', async (t) => {
  const engine = await start({ module: fixture('process'), workers: 1 });
  const serving = await serve(engine, { port: 0 });
  t.teardown(async () => { await serving.close(); await engine.stop(); });
  await engine.ingest([{ k: 'é', t: 1, c: 'r' }]);
  const body = await until("é's state", async () => {
    const res = await fetch(`${serving.url}/query/counter?key=%C3%A9`);
    return res.status === 200 ? res.json() : undefined;
  });
  t.match(body, { key: 'é', values: { n: 1 } }, 'well-formed encoding is decoded');
  for (const [path, where] of [
    ['/query/counter?key=%E0%A4%A', /malformed percent-encoding in \?key=: '%E0%A4%A'/],
    ['/query/counter?key=%ZZ', /malformed percent-encoding in \?key=: '%ZZ'/],
    ['/query/%E0%A4%A?key=a', /malformed percent-encoding in the path: '%E0%A4%A'/],
    ['/operator-state/%E0', /malformed percent-encoding in the path: '%E0'/],
  ] as const) {
    const res = await fetch(serving.url + path);
    t.equal(res.status, 400, path);
    t.match(await res.json(), { error: where }, path);
  }
});
