import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers/collect.js';
import { CLI, spawnNode, type Ran } from './helpers/cli.js';

/** Like `keyflow …args | head -n 1`: read one line of stdout, close the pipe, wait for the exit (a hang is killed after 60 s). */
async function headOne(args: string[]): Promise<{ first: string } & Ran> {
  const live = spawnNode([CLI, ...args]);
  live.child.stdin.end();
  const first = await new Promise<string>((resolve) => {
    let got = '';
    live.child.stdout.on('data', (d) => {
      got += d;
      const nl = got.indexOf('\n');
      if (nl >= 0) {
        live.child.stdout.destroy();
        resolve(got.slice(0, nl));
      }
    });
    live.child.stdout.on('close', () => resolve(got)); // no whole line before the end
  });
  return { first, ...(await live.done) };
}

t.test('keyflow run --output - whose reader closes the pipe after one line stops quietly with rc 141', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-epipe-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.ndjson');
  // One result per event, far more than a pipe buffer holds.
  await writeFile(input, Array.from({ length: 100_000 }, (_, id) => JSON.stringify({ id, pad: 'x'.repeat(40) })).join('\n') + '\n');
  const r = await headOne(['run', fileURLToPath(fixture('passthrough')), '--input', input, '--output', '-', '--workers', '2']);
  t.notOk(r.timedOut, r.stderr);
  t.match(JSON.parse(r.first), { id: Number, pad: String }, 'the first result arrived');
  t.same([r.code, r.signal], [141, null], r.stderr);
  t.notMatch(r.stderr, /EPIPE|Error|\n\s+at /, 'no stack, no error');
});

t.test('keyflow generate whose reader closes the pipe after one line stops quietly with rc 141', async (t) => {
  const r = await headOne(['generate', '--events', '1000000']);
  t.notOk(r.timedOut, r.stderr);
  t.match(JSON.parse(r.first), { kind: String });
  t.same([r.code, r.signal], [141, null], r.stderr);
  t.equal(r.stderr, '', 'nothing on stderr');
});
