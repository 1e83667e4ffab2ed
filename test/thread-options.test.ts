import t from 'tap';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/cli.js';
import { fixture } from './helpers/collect.js';
import { start } from '../lib/index.js';

// The engine's threads take the process's Node options unless execArgv says otherwise: a loader the
// process runs under (`--import`) runs in the actors and the source threads too.

const MARK = fileURLToPath(new URL('./fixtures/thread-mark.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/thread-options.js', import.meta.url));

async function run(execArgv: string) {
  const { code, stdout, stderr } = await runNode([`--import=${MARK}`, CHILD, execArgv]);
  if (code !== 0) throw new Error(`the child exited with ${code}: ${stderr}`);
  const out = JSON.parse(stdout) as { main: string; results: Array<{ id: number; mapped: string; applied: string }> };
  return { main: out.main, mapped: [...new Set(out.results.map((r) => r.mapped))], applied: [...new Set(out.results.map((r) => r.applied))], ids: out.results.map((r) => r.id).sort() };
}

t.test('by default the actors and source threads run under the process\'s --import; with execArgv, under what it says', async (t) => {
  const inherited = await run('inherit');
  t.same(inherited, { main: 'marked', mapped: ['marked'], applied: ['marked'], ids: [1, 2, 3, 4] }, 'inherited: every thread ran the --import');
  const own = await run('[]');
  t.same(own, { main: 'marked', mapped: ['none'], applied: ['none'], ids: [1, 2, 3, 4] }, 'execArgv []: only the process ran it');
  const given = await run(JSON.stringify([`--import=${MARK}`]));
  t.same(given, { main: 'marked', mapped: ['marked'], applied: ['marked'], ids: [1, 2, 3, 4] }, 'execArgv naming it: the threads ran it');
});

t.test('execArgv that a thread cannot take is a configuration error', async (t) => {
  const module = fixture('passthrough');
  await t.rejects(start({ module, execArgv: '--inspect' as unknown as string[] }), { code: 'ERR_KEYFLOW_CONFIG', message: /execArgv must be an array of strings/ });
  for (const prestartSourceThreads of [false, true]) {
    await t.rejects(start({ module, workers: 1, sourceThreads: 1, prestartSourceThreads, execArgv: ['--max-old-space-size=64'] }),
      { code: 'ERR_KEYFLOW_CONFIG', message: /execArgv: .*max-old-space-size/ }, `source threads started ${prestartSourceThreads ? 'with the actors' : 'on first use'}`);
  }
});
