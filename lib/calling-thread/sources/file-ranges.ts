/**
 * An NDJSON file (ndjsonFile()) as chunks for the source threads: byte ranges of about a chunk's size, each
 * read by the source thread that takes it (see FileRange and pool-thread/file-range.ts). The calling thread
 * never reads the bytes, except to find where a resumed input starts.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Chunk } from './parallel-sources.js';

/**
 * The file's lines after the first `skip`, as ranges of about `chunkBytes`, until its end. A file that has
 * grown by then is read on to its new end.
 */
export async function* fileRanges(path: string, skip: number, chunkBytes: number): AsyncGenerator<Chunk> {
  let from = skip === 0 ? 0 : await offsetAfterLines(path, skip);
  for (let size = (await stat(path)).size; from < size; size = (await stat(path)).size) {
    for (; from < size; from += chunkBytes) {
      const to = Math.min(size, from + chunkBytes);
      yield { input: { file: { path, from, to } }, read: to };
    }
    from = size;
  }
}

const NEWLINE = 0x0a;

/** Where the line after the first `lines` starts (the file's size if it has no more). */
async function offsetAfterLines(path: string, lines: number): Promise<number> {
  let offset = 0;
  let left = lines;
  for await (const piece of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let at = piece.indexOf(NEWLINE); at >= 0; at = piece.indexOf(NEWLINE, at + 1)) {
      if (--left === 0) return offset + at + 1;
    }
    offset += piece.length;
  }
  return offset;
}
