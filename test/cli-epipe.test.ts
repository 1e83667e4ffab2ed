import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers/collect.js';
import { CLI } from './helpers/cli.js';

/** Like `keyflow …args | head -n 1`: read one line of stdout, close the pipe, wait for the exit. */
async function headOne(args: string[]): Promise<{ first: string; code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const first = await new Promise<string>((resolve) => {
    let got = '';
    child.stdout.on('data', (d) => {
      got += d;
      const nl = got.indexOf('\n');
      if (nl >= 0) {
        child.stdout.destroy();
        resolve(got.slice(0, nl));
      }
    });
  });
  const ended = await exited;
  clearTimeout(timer);
  return { first, ...ended, stderr };
}

t.test('keyflow run --output - whose reader closes the pipe after one line stops quietly with rc 141', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-epipe-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.ndjson');
  // One result per event, far more than a pipe buffer holds.
  await writeFile(input, Array.from({ length: 100_000 }, (_, id) => JSON.stringify({ id, pad: 'x'.repeat(40) })).join('\n') + '\n');
  const r = await headOne(['run', fileURLToPath(fixture('passthrough')), '--input', input, '--output', '-', '--workers', '2']);
  t.match(JSON.parse(r.first), { id: Number, pad: String }, 'the first result arrived');
  t.same([r.code, r.signal], [141, null], r.stderr);
  t.notMatch(r.stderr, /EPIPE|Error|\n\s+at /, 'no stack, no error');
});

t.test('keyflow generate whose reader closes the pipe after one line stops quietly with rc 141', async (t) => {
  const r = await headOne(['generate', '--events', '1000000']);
  t.match(JSON.parse(r.first), { kind: String });
  t.same([r.code, r.signal], [141, null], r.stderr);
  t.equal(r.stderr, '', 'nothing on stderr');
});
