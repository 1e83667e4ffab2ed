import t from 'tap';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers/collect.js';
import { CLI, runNode } from './helpers/cli.js';

const MODULE = fileURLToPath(fixture('self-start'));
const ADVICE = /start\(\) imports file:.*self-start\.js, the module calling it, which is still being evaluated \(it awaits start\(\) at its top level\): the import would wait on itself forever\. Keep the pipelines in a module of their own and call start\(\) from another module/;

t.test('a module awaiting start({ module: import.meta.url }) at its top level fails with a clear error', async (t) => {
  for (const env of [{}, { KEEP_ALIVE: '1' }] as Array<Record<string, string>>) {
    const r = await runNode([MODULE], { env });
    t.notOk(r.timedOut, `the script ends on its own (${JSON.stringify(env)}; stderr: ${r.stderr})`);
    t.equal(r.code, 1, 'an uncaught error, not the silent exit code 13 of an unsettled top-level await');
    t.match(r.stderr, /ERR_KEYFLOW_CONFIG/);
    t.match(r.stderr, ADVICE);
  }
});

t.test('keyflow run on such a module says the same in one line', async (t) => {
  const r = await runNode([CLI, 'run', MODULE, '--input', '-', '--output', '-'], { stdin: '{"k":"a"}\n' });
  t.notOk(r.timedOut, `the run ends on its own (stderr: ${r.stderr})`);
  t.equal(r.code, 1);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /^keyflow: cannot import pipeline module file:.*self-start\.js: /);
  t.match(lines[0], ADVICE);
});
