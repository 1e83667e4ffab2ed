import t, { type Test } from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyflow, parseLines } from './helpers/cli.js';
import { fixture } from './helpers/collect.js';

const MODULE = fileURLToPath(fixture('windows'));
const INPUT = Array.from({ length: 40 }, (_, i) => JSON.stringify({ k: `k${i % 2}`, t: i })).join('\n') + '\n';

async function scratch(t: Test): Promise<{ dir: string; input: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-flags-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.ndjson');
  await writeFile(input, INPUT);
  return { dir, input };
}

t.test('--pipeline picks the pipelines to run; with several, each result says which', async (t) => {
  const { dir, input } = await scratch(t);
  const out = join(dir, 'out.ndjson');
  const r = await keyflow(['run', MODULE, '--pipeline', 'tumble', '--pipeline', 'slide', '--input', input, '--output', out, '--workers', '2']);
  t.equal(r.code, 0, r.stderr);
  const results = parseLines(await readFile(out, 'utf8')) as Array<{ pipeline: string; result: { n: number } }>;
  t.same([...new Set(results.map((x) => x.pipeline))].sort(), ['slide', 'tumble'], 'only the two named');
  t.equal(results.filter((x) => x.pipeline === 'tumble').reduce((n, x) => n + x.result.n, 0), 40, 'tumble counts every event once');
  const unknown = await keyflow(['run', MODULE, '--pipeline', 'nope', '--input', input, '--output', out]);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /unknown pipeline 'nope'/);
});

t.test('--max-key-groups is fixed for the life of a state directory', async (t) => {
  const { dir, input } = await scratch(t);
  const args = ['run', MODULE, '--pipeline', 'tumble', '--input', input, '--output', join(dir, 'out.ndjson'), '--state', join(dir, 'state')];
  const first = await keyflow([...args, '--max-key-groups', '64']);
  t.equal(first.code, 0, first.stderr);
  const other = await keyflow([...args, '--max-key-groups', '32']);
  t.equal(other.code, 1);
  t.match(other.stderr, /keyflow: .*written with maxKeyGroups 64, not 32/);
  const same = await keyflow([...args, '--max-key-groups', '64']);
  t.equal(same.code, 0, same.stderr);
});

t.test('--durability none keeps no write-ahead log; sync and batch do', async (t) => {
  const { dir, input } = await scratch(t);
  const segments = (state: string) => (existsSync(join(state, 'wal')) ? readdirSync(join(state, 'wal')).flatMap((a) => readdirSync(join(state, 'wal', a))) : []);
  for (const durability of ['none', 'sync', 'batch']) {
    const state = join(dir, `state-${durability}`);
    const r = await keyflow(['run', MODULE, '--pipeline', 'tumble', '--input', input, '--output', join(dir, `${durability}.ndjson`), '--state', state, '--durability', durability]);
    t.equal(r.code, 0, r.stderr);
    if (durability === 'none') t.same(segments(state), [], 'none: no WAL segments');
    else t.ok(segments(state).length > 0, `${durability}: WAL segments`);
    t.equal(parseLines(await readFile(join(dir, `${durability}.ndjson`), 'utf8')).reduce((n: number, x: { n: number }) => n + x.n, 0), 40);
  }
  const bad = await keyflow(['run', MODULE, '--input', input, '--output', '-', '--durability', 'maybe']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--durability takes batch, sync or none, got 'maybe'/);
});
