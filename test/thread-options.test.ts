import t from 'tap';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/cli.js';
import { fixture } from './helpers/collect.js';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { start, type StartOptions } from '../lib/index.js';
import { start as testStart } from './helpers/start.js';
import { STAGED_YOUNG_GENERATION_MB } from '../lib/calling-thread/actor-heap.js';

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

t.test('actors run with V8\'s own heap limits unless actorResourceLimits gives them; a later stage\'s, with a larger young generation', async (t) => {
  const limitsOf = async (options: Partial<StartOptions>, module = fixture('heap-limits')) => {
    const engine = await testStart({ module, workers: 2, ...options });
    const results: Array<{ id: number } & ResourceLimits> = [];
    engine.results('limits').on('data', (r) => results.push(r));
    await engine.ingest([1, 2, 3, 4, 5, 6, 7, 8].map((id) => ({ id })));
    await engine.stop();
    t.equal(results.length, 8, 'every actor answered');
    // Without the id (JSON leaves out what is undefined).
    const distinct = [...new Set(results.map((r) => JSON.stringify({ ...r, id: undefined })))];
    t.equal(distinct.length, 1, 'the same in every actor');
    return JSON.parse(distinct[0]) as ResourceLimits;
  };
  // V8's own, for a thread started with no limits.
  const own = await new Promise<ResourceLimits>((resolve, reject) => {
    const w = new Worker('const { parentPort, resourceLimits } = require("node:worker_threads"); parentPort.postMessage(resourceLimits)', { eval: true });
    w.once('message', (limits: ResourceLimits) => void w.terminate().then(() => resolve(limits)));
    w.once('error', reject);
  });
  t.same(await limitsOf({}), own, `nothing given: V8's own (a young generation of ${own.maxYoungGenerationSizeMb} MB)`);
  const given = await limitsOf({ actorResourceLimits: { maxYoungGenerationSizeMb: 128, maxOldGenerationSizeMb: 3072 } });
  t.same(given, { ...own, maxYoungGenerationSizeMb: 128, maxOldGenerationSizeMb: 3072 }, 'given: those, and V8\'s own for the rest');
  // The threads start before the pipelines are known, with the limits given: those of a job with later stages are started anew.
  const staged = fixture('staged-heap-limits');
  t.same(await limitsOf({}, staged), { ...own, maxYoungGenerationSizeMb: STAGED_YOUNG_GENERATION_MB }, 'later stages, nothing given: a larger young generation');
  t.same(await limitsOf({ actorResourceLimits: { maxOldGenerationSizeMb: 3072 } }, staged),
    { ...own, maxYoungGenerationSizeMb: STAGED_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: 3072 }, 'later stages, an old generation given: both');
  t.same(await limitsOf({ actorResourceLimits: { maxYoungGenerationSizeMb: 16 } }, staged), { ...own, maxYoungGenerationSizeMb: 16 }, 'later stages, a young generation given: that one');
});

t.test('actorResourceLimits that are not limits are a configuration error', async (t) => {
  const module = fixture('passthrough');
  for (const [actorResourceLimits, message] of [
    [64, /actorResourceLimits must be an object/],
    [{ maxYoungGenerationSizeMb: 0 }, /maxYoungGenerationSizeMb must be a positive number/],
    [{ maxOldGenerationSizeMb: '1g' }, /maxOldGenerationSizeMb must be a positive number/],
    [{ heapMb: 64 }, /unknown limit 'heapMb'/],
    [{ stackSizeMb: 0.1 }, /stackSizeMb must be at least 1/],
  ] as const) {
    await t.rejects(start({ module, actorResourceLimits: actorResourceLimits as unknown as ResourceLimits }), { code: 'ERR_KEYFLOW_CONFIG', message }, JSON.stringify(actorResourceLimits));
  }
});
