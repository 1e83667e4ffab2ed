import t from 'tap';
import { availableParallelism } from 'node:os';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';
import { keyflow } from './helpers/cli.js';
import { fileURLToPath } from 'node:url';

const most = 4 * availableParallelism();

t.test('start(): more than 4 workers per available core is a configuration error saying what to use', async (t) => {
  await t.rejects(start({ module: fixture('windows'), workers: most + 1, maxKeyGroups: 4096 }), {
    code: 'ERR_KEYFLOW_CONFIG',
    message: new RegExp(`workers \\(${most + 1}\\) is more than 4 per available core \\(${availableParallelism()} cores\\).*use at most ${most}`),
  });
});

t.test('keyflow run --workers 1000: one line, rc 1, before any actor starts', async (t) => {
  const r = await keyflow(['run', fileURLToPath(fixture('windows')), '--input', '-', '--output', '-', '--workers', '1000', '--max-key-groups', '4096']);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`^keyflow: workers \\(1000\\) is more than 4 per available core .*use at most ${most}\\n$`));
});
