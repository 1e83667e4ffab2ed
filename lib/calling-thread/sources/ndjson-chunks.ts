/**
 * An NDJSON input in chunks of whole lines for the source threads (see parallel-ndjson.ts): each chunk is
 * cut at the last newline once it holds `chunkBytes` (or at every read of a live stream), and lands in an
 * ArrayBuffer of its own, so it can be transferred to a pool thread rather than copied again.
 */
import { bytesOf } from './ndjson.js';

const NEWLINE = 0x0a;

/**
 * The input in chunks of whole lines (the last line of the input may lack its newline), each in a buffer
 * of its own (so it can be transferred), after the first `skip` lines; `read`: input bytes read so far.
 */
export async function* chunksOf(input: AsyncIterable<Uint8Array | string>, skip: number, chunkBytes: number, live: boolean): AsyncGenerator<{ bytes: Uint8Array; read: number }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let toSkip = skip;
  let read = 0;
  for await (const piece of input) {
    let buf = bytesOf(piece);
    read += buf.length;
    while (toSkip > 0 && buf.length > 0) {
      const nl = buf.indexOf(NEWLINE);
      if (nl < 0) {
        buf = buf.subarray(buf.length);
        break;
      }
      toSkip--;
      buf = buf.subarray(nl + 1);
    }
    if (buf.length === 0) continue;
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes < chunkBytes && !live) continue;
    // The chunk ends at the last newline, which is in this piece: what follows it starts the next.
    const last = buf.lastIndexOf(NEWLINE);
    if (last < 0) continue;
    pending[pending.length - 1] = buf.subarray(0, last);
    yield { bytes: joined(pending, pendingBytes - (buf.length - last)), read };
    pending = [buf.subarray(last + 1)];
    pendingBytes = pending[0].length;
  }
  if (pendingBytes === 0) return;
  // The input's end: its last line, without the newline that may end it.
  const rest = joined(pending, pendingBytes);
  yield { bytes: rest[rest.length - 1] === NEWLINE ? rest.subarray(0, rest.length - 1) : rest, read };
}

/** `pieces` (of `length` bytes in all) in one ArrayBuffer of their own. */
function joined(pieces: readonly Buffer[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
