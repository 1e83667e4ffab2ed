/**
 * A pool thread reads its chunk of an NDJSON file itself (see FileRange): the calling thread hands out
 * byte ranges and does not read the bytes (except once, to find where a resumed input starts). Reading
 * them there cost the calling thread a tenth of its time in a `keyflow run` (the reads, their buffers, and
 * the garbage collections that a megabyte of external memory per chunk set off).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { FileRange } from '../shared/chunk-protocol.js';

const NEWLINE = 0x0a;
/** Read on in steps of this to reach the newline that ends a range's last line. */
const READ_ON = 64 * 1024;

/** The buffer this thread reads into: a chunk's lines are routed before the next chunk is read. */
let buffer = Buffer.allocUnsafe(0);
/** A buffer grown past this for one long line is let go once a range needs less again. */
const KEPT_BYTES = 8 * 1024 * 1024;

/**
 * `range`'s lines as one region of bytes (valid until the next call), without the newline that ends the
 * last; null if no line starts in the range (one line longer than the range started before it).
 */
export function readRange({ path, from, to }: FileRange): Buffer | null {
  const fd = openSync(path, 'r');
  try {
    // From the byte before `from`: a newline there means a line starts at `from`.
    const at = Math.max(0, from - 1);
    if (buffer.length > KEPT_BYTES && to - at + READ_ON <= KEPT_BYTES) buffer = Buffer.allocUnsafe(0);
    let filled = readAt(fd, at, 0, to - at);
    let begin = 0;
    // Searched only up to `filled`: past it are an earlier range's bytes.
    const newline = (start: number) => buffer.subarray(0, filled).indexOf(NEWLINE, start);
    if (from > 0) {
      const nl = newline(0);
      if (nl < 0) return null;
      begin = nl + 1;
    }
    if (at + begin >= to) return null;
    // The last line that starts before `to` ends at the first newline from `to - 1` on.
    let search = to - 1 - at;
    for (;;) {
      const nl = newline(search);
      if (nl >= 0) return buffer.subarray(begin, nl);
      search = filled;
      const more = readAt(fd, at + filled, filled, READ_ON);
      if (more === 0) return buffer.subarray(begin, filled);
      filled += more;
    }
  } finally {
    closeSync(fd);
  }
}

/** Read up to `length` bytes at `position` of the file into the buffer at `offset` (grown to hold them); returns how many. */
function readAt(fd: number, position: number, offset: number, length: number): number {
  if (buffer.length < offset + length) {
    const grown = Buffer.allocUnsafe(Math.max(offset + length, buffer.length * 2));
    buffer.copy(grown, 0, 0, offset);
    buffer = grown;
  }
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buffer, offset + read, length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  return read;
}
