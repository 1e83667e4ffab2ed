import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers/collect.js';
import { CLI } from './helpers/cli.js';

t.test('keyflow run --output - whose reader closes the pipe after one line stops quietly with rc 141', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-epipe-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.ndjson');
  // One result per event, far more than a pipe buffer holds.
  await writeFile(input, Array.from({ length: 100_000 }, (_, id) => JSON.stringify({ id, pad: 'x'.repeat(40) })).join('\n') + '\n');
  const child = spawn(process.execPath, [CLI, 'run', fileURLToPath(fixture('passthrough')), '--input', input, '--output', '-', '--workers', '2'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  // Like `head -n 1`: read one line, then close the pipe.
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
  t.match(JSON.parse(first), { id: Number, pad: String }, 'the first result arrived');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const ended = await exited;
  clearTimeout(timer);
  t.same(ended, { code: 141, signal: null }, stderr);
  t.notMatch(stderr, /EPIPE|Error|\n\s+at /, 'no stack, no error');
});
