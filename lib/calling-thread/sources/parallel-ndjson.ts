/**
 * NDJSON as a parallel source (engine.ingestNdjson(), `keyflow run`): the input is cut into chunks of
 * whole lines, which the source threads parse and route (see parallel-sources.ts); a file (ndjsonFile())
 * into byte ranges that they read themselves.
 *
 * With no pool (sourceThreads 0), the same input is parsed and routed on the calling thread, as
 * ingest() does; the results are the same either way.
 */
import type { Ingestion } from '../ingestion.js';
import { ndjsonBatches } from './ndjson.js';
import { stat } from 'node:fs/promises';
import { chunksOf } from './ndjson-chunks.js';
import { fileRanges } from './file-ranges.js';
import { ndjsonFilePath } from '../../shared/ndjson-file.js';
import { ingestChunks, type Chunk, type SourceContext } from './parallel-sources.js';
import { untilAborted } from './until-aborted.js';

export interface NdjsonOptions {
  /** Where the lines come from, for error reports (default 'ndjson'). */
  source?: string;
  /**
   * Exactly-once: a stable name for the input, whose line numbers are its positions (see
   * IngestOptions.sourceId); a resumed run skips the lines up to engine.resumePosition(sourceId).
   */
  sourceId?: string;
  /** Lines at the start of the input to pass over (they are numbered, not read). */
  skipLines?: number;
  /** Bytes per chunk (default CHUNK_BYTES): large enough that a chunk's fixed costs vanish, small enough that several are in flight. */
  chunkBytes?: number;
  /** A live stream (stdin): hand over the lines of every read at once instead of waiting for a full chunk. */
  live?: boolean;
  /** Called as the input is read, with the bytes read so far. */
  onProgress?: (bytes: number) => void;
  /** Stops reading: what was read by then is ingested (a partial last line is not), and the call resolves. */
  signal?: AbortSignal;
}

export const CHUNK_BYTES = 1 << 20;

/** Read NDJSON through the source threads (or on the calling thread, with no pool). */
export async function ingestNdjson(input: AsyncIterable<Uint8Array | string>, options: NdjsonOptions & { signal: AbortSignal }, context: SourceContext): Promise<void> {
  const { ingestion, pool } = context;
  const name = options.sourceId ?? options.source ?? 'ndjson';
  const skip = options.skipLines ?? 0;
  // Announced before any line is reported: a bad first line must not register the source untracked.
  const src = await ingestion.lineSource(name, options.sourceId !== undefined);
  if (pool === null) return ingestOnThisThread(input, options, name, skip, ingestion);
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const path = ndjsonFilePath(input);
  // A pipe has no size to cut into ranges, nor offsets to read them at.
  const ranged = path !== undefined && (await stat(path)).isFile();
  const chunks = ranged ? fileRanges(path, skip, chunkBytes) : handedOver(input, skip, chunkBytes, options.live ?? false);
  await ingestChunks(chunks, {
    name, src, sourceId: options.sourceId, skip, signal: options.signal,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  }, pool, context);
}

/** A stream's lines, cut here into chunks that the pool threads are handed. */
async function* handedOver(input: AsyncIterable<Uint8Array | string>, skip: number, chunkBytes: number, live: boolean): AsyncGenerator<Chunk> {
  let atStart = skip === 0;
  for await (const { bytes, read } of chunksOf(input, skip, chunkBytes, live)) {
    yield { input: { ndjson: bytes, atStart }, read };
    atStart = false;
  }
}

/** The sequential way: batches of lines parsed here and routed by ingest(). */
async function ingestOnThisThread(input: AsyncIterable<Uint8Array | string>, options: NdjsonOptions, name: string, skip: number, ingestion: Ingestion): Promise<void> {
  for await (const batch of untilAborted(ndjsonBatches(input), options.signal)) {
    for (const bad of batch.bad) if (bad.line > skip) ingestion.reportBadLine(bad, name);
    const from = skip === 0 ? 0 : batch.lines.findIndex((line) => line > skip);
    if (from >= 0) {
      const events = from === 0 ? batch.events : batch.events.slice(from);
      const lines = from === 0 ? batch.lines : batch.lines.slice(from);
      await ingestion.ingest(events, options.sourceId !== undefined ? { sourceId: options.sourceId, lines } : { source: name, lines });
    }
    options.onProgress?.(batch.bytes);
  }
}
