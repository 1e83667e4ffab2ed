import { LineBatcher, type NdjsonBatch } from '../../shared/ndjson-lines.js';

const NEWLINE = 0x0a;

/** A chunk of a byte stream as a Buffer: a string as UTF-8, a Uint8Array (a web stream's chunk) as a Buffer over the same bytes. */
export function bytesOf(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Newline-delimited JSON from a byte stream, in batches of up to `batchSize` lines, and at the end of
 * every chunk the stream delivers. Blank lines are skipped; a line that is not JSON is returned in
 * `bad` with its line number, and reading goes on.
 *
 * Lines are split on bytes (0x0A never occurs inside a multibyte UTF-8 sequence) and only whole lines
 * are decoded, so a character split across two chunks is read intact; the partial last line of a chunk
 * waits, as bytes, for the next. Each chunk's whole lines are checked with one isUtf8() call; only if
 * that fails are its lines checked one by one, and each that is not UTF-8 is reported in `bad` rather
 * than decoded with replacement characters (which would merge distinct keys). A UTF-8 byte order mark
 * at the start of the input is dropped.
 */
export async function* ndjsonBatches(input: AsyncIterable<Uint8Array | string>, batchSize = 4096): AsyncGenerator<NdjsonBatch> {
  const lines = new LineBatcher(batchSize);
  /** The partial last line so far, as the chunks that hold it. */
  let partial: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of input) {
    const buf = bytesOf(chunk);
    bytes += buf.length;
    const first = buf.indexOf(NEWLINE);
    if (first < 0) {
      partial.push(buf);
      continue;
    }
    let start = 0;
    if (partial.length > 0) {
      partial.push(buf.subarray(0, first));
      yield* lines.add(Buffer.concat(partial), bytes);
      partial = [];
      start = first + 1;
    }
    const last = buf.lastIndexOf(NEWLINE);
    if (last >= start) yield* lines.add(buf.subarray(start, last), bytes);
    if (last + 1 < buf.length) partial.push(buf.subarray(last + 1));
    // A live stream (stdin) may pause here for long: hand over what it has sent.
    if (lines.pending > 0) yield lines.flush(bytes);
  }
  if (partial.length > 0) yield* lines.add(Buffer.concat(partial), bytes);
  if (lines.pending > 0) yield lines.flush(bytes);
}

