import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileRanges } from '../lib/calling-thread/sources/file-ranges.js';
import { readRange } from '../lib/pool-thread/file-range.js';
import type { FileRange } from '../lib/shared/chunk-protocol.js';
import { ndjsonFile } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

// An NDJSON file is cut into byte ranges on the calling thread and each range's lines are read by a source
// thread (file-ranges.ts, file-range.ts): the ranges together must give every line once, in order, wherever
// they are cut.

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-ranges-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every line the ranges of `path` give, in order (a range's region split at its newlines). */
async function linesOf(path: string, skip: number, chunkBytes: number): Promise<{ lines: string[]; ranges: number }> {
  const lines: string[] = [];
  let ranges = 0;
  for await (const chunk of fileRanges(path, skip, chunkBytes)) {
    ranges++;
    const region = readRange((chunk.input as { file: FileRange }).file);
    if (region !== null) lines.push(...region.toString('utf8').split('\n'));
  }
  return { lines, ranges };
}

/** The lines of a file's text, as a reader counts them: a newline at the very end starts no line. */
const linesIn = (text: string) => (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');

const TEXTS: Record<string, string> = {
  'lines of varied lengths, one longer than most ranges, a final newline': Array.from({ length: 400 }, (_, i) =>
    JSON.stringify({ i, pad: 'x'.repeat(i === 200 ? 5_000 : i % 61) })).join('\n') + '\n',
  'no final newline, blank lines and CRLF': ['{"a":1}\r', '', '{"a":2}', '', '', '{"a":3}\r', '{"a":4}'].join('\n'),
  'multibyte characters': Array.from({ length: 100 }, (_, i) => JSON.stringify({ i, k: 'ключ 鍵🔑 café'.repeat(i % 5) })).join('\n'),
  'newlines only': '\n\n\n',
  'one line': '{"only":true}',
};

t.test('the ranges give every line once, in order, for any range size', async (t) => {
  const dir = await scratch(t);
  for (const [name, text] of Object.entries(TEXTS)) {
    const path = join(dir, 'in.ndjson');
    await writeFile(path, text);
    for (const chunkBytes of [1, 2, 3, 7, 64, 1_000, 4_096, 1 << 20]) {
      const { lines, ranges } = await linesOf(path, 0, chunkBytes);
      t.ok(lines.length === linesIn(text).length && lines.every((l, i) => l === linesIn(text)[i]),
        `${name}, ranges of ${chunkBytes} bytes: ${lines.length} lines in ${ranges} ranges`);
    }
  }
});

t.test('skipping lines: the ranges start after them', async (t) => {
  const path = join(await scratch(t), 'in.ndjson');
  const text = TEXTS['lines of varied lengths, one longer than most ranges, a final newline'];
  await writeFile(path, text);
  for (const skip of [1, 2, 199, 200, 201, 399, 400, 1_000]) {
    const { lines } = await linesOf(path, skip, 512);
    t.same(lines, linesIn(text).slice(skip), `after ${skip} lines`);
  }
});

t.test('a file that grows while it is read is read on to its new end', async (t) => {
  const path = join(await scratch(t), 'in.ndjson');
  await writeFile(path, '{"n":1}\n{"n":2}\n');
  const lines: string[] = [];
  let grown = false;
  for await (const chunk of fileRanges(path, 0, 8)) {
    const region = readRange((chunk.input as { file: FileRange }).file);
    if (region !== null) lines.push(...region.toString('utf8').split('\n'));
    if (!grown) {
      await appendFile(path, '{"n":3}\n{"n":4}');
      grown = true;
    }
  }
  t.same(lines, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
});

t.test('a named pipe given as a file is read as a stream, every line of it', async (t) => {
  const dir = await scratch(t);
  const fifo = join(dir, 'in.fifo');
  execFileSync('mkfifo', [fifo]);
  const engine = await start({ module: fixture('passthrough'), workers: 1, sourceThreads: 2 });
  let results = 0;
  engine.results('echo').on('data', () => results++);
  const writer = createWriteStream(fifo);
  writer.end(Array.from({ length: 2_000 }, (_, id) => JSON.stringify({ id, pad: 'x' })).join('\n') + '\n');
  await engine.ingestNdjson(ndjsonFile(fifo), { chunkBytes: 4_096 });
  await engine.stop();
  t.equal(results, 2_000, 'every line read');
});
