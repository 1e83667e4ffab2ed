/**
 * An NDJSON file read straight into chunks of whole lines, each in a buffer of its own that nothing else
 * holds, so the chunks go to the source threads as they are (transferred): no copy into a chunk of its
 * own, and half the garbage of reading through a stream (see ndjson-chunks.ts). Only the partial line at
 * the end of each read is copied, to start the next buffer. A chunk's buffer that comes back once the
 * chunk is taken in (`recycle`) is read into again, so a long file does not churn through new buffers.
 */
import { open } from 'node:fs/promises';

const NEWLINE = 0x0a;

/** Marks an input whose pieces are whole lines (the last may lack its newline), each in an ArrayBuffer no one else uses. */
export const WHOLE_LINE_CHUNKS = Symbol('keyflow.wholeLineChunks');

export interface WholeLineChunks extends AsyncIterable<Buffer> {
  readonly [WHOLE_LINE_CHUNKS]: true;
  /** A chunk's buffer is free again: the next reads may fill it. */
  recycle(buffer: ArrayBuffer): void;
}

/** Buffers kept for reuse at most: about as many as chunks are in flight (four per source thread). */
const SPARE_BUFFERS = 16;

export function isWholeLineChunks(input: AsyncIterable<Uint8Array | string>): input is WholeLineChunks {
  return (input as Partial<WholeLineChunks>)[WHOLE_LINE_CHUNKS] === true;
}

/** The file at `path` in chunks of about `chunkBytes` (more for a line longer than that). */
export function fileChunks(path: string, chunkBytes: number): WholeLineChunks {
  const spare: ArrayBuffer[] = [];
  const take = (size: number): Buffer => {
    const reused = spare.length > 0 && spare[spare.length - 1].byteLength >= size ? spare.pop() : undefined;
    return reused === undefined ? Buffer.allocUnsafeSlow(size) : Buffer.from(reused, 0, size);
  };
  return {
    [WHOLE_LINE_CHUNKS]: true,
    [Symbol.asyncIterator]: () => read(path, chunkBytes, take),
    recycle: (buffer) => {
      if (buffer.byteLength >= chunkBytes && spare.length < SPARE_BUFFERS) spare.push(buffer);
    },
  };
}

async function* read(path: string, chunkBytes: number, take: (size: number) => Buffer): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      const buf = take(Math.max(chunkBytes, carry.length * 2));
      carry.copy(buf);
      let filled = carry.length;
      let ended = false;
      while (filled < buf.length) {
        const { bytesRead } = await file.read(buf, filled, buf.length - filled, null);
        if (bytesRead === 0) {
          ended = true;
          break;
        }
        filled += bytesRead;
      }
      if (ended) {
        if (filled > 0) yield buf.subarray(0, filled);
        return;
      }
      const last = buf.lastIndexOf(NEWLINE, filled - 1);
      // A line longer than the buffer: read on into a larger one.
      if (last < 0) {
        carry = buf;
        continue;
      }
      carry = Buffer.from(buf.subarray(last + 1, filled));
      yield buf.subarray(0, last + 1);
    }
  } finally {
    await file.close();
  }
}
