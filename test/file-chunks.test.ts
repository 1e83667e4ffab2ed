import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileChunks } from '../lib/calling-thread/sources/file-chunks.js';

// keyflow run reads a file straight into chunks of whole lines (file-chunks.ts); a chunk's buffer that
// comes back once its chunk is in is read into again.

t.test('a file in chunks of whole lines, the buffers given back read into again, the bytes all there in order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-chunks-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'in.ndjson');
  // Lines of varied lengths, one longer than a chunk, and no newline at the end.
  const lines = Array.from({ length: 3_000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(i === 1_500 ? 10_000 : i % 97) }));
  const text = lines.join('\n');
  await writeFile(path, text);
  const chunks = fileChunks(path, 4_096);
  const seen = new Set<ArrayBuffer>();
  let reused = 0;
  let got = '';
  for await (const chunk of chunks) {
    const buffer = chunk.buffer as ArrayBuffer;
    if (seen.has(buffer)) reused++;
    seen.add(buffer);
    const piece = chunk.toString('utf8');
    t.ok(piece.endsWith('\n') || got.length + piece.length === text.length, 'each chunk ends at a line (or the input)');
    got += piece;
    // Taken in: the next reads may fill it.
    chunks.recycle(buffer);
  }
  t.equal(got, text, 'every byte once, in order');
  t.ok(reused > 10, `${reused} chunks read into a buffer given back`);
});
