/**
 * NDJSON as a parallel source (engine.ingestNdjson(), `keyflow run`): the input is cut into chunks of
 * whole lines; pool threads parse them, run every pipeline's stateless part and encode frames per actor
 * (pool-thread/route-chunk.ts), several chunks at once; the calling thread takes finished chunks in, in
 * input order (Ingestion.admitChunk), and so handles frames and bytes, not events. A bounded number of
 * chunks is in flight: a slow actor or reader slows the reading of the input down (backpressure).
 *
 * With no pool (sourceThreads 0), the same input is parsed and routed on the calling thread, as
 * ingest() does; the results are the same either way.
 */
import type { Failure } from '../failure.js';
import type { Ingestion } from '../ingestion.js';
import { RoutingActivity } from '../../shared/routing-activity.js';
import type { SourcePool } from '../source-pool.js';
import { handledWhereAwaited } from '../../shared/ignore.js';
import { ndjsonBatches } from './ndjson.js';
import { watchChunks } from './chunk-watchdog.js';
import { chunksOf } from './ndjson-chunks.js';
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

/** What a parallel source works with. */
export interface SourceContext {
  ingestion: Ingestion;
  /** null: parse and route on the calling thread (sourceThreads 0). */
  pool: SourcePool | null;
  failure: Failure;
  pipelineNames: readonly string[];
  /** The watchdog on user functions (see StartOptions.maxCallMs); 0: none. */
  maxCallMs: number;
}

/**
 * The NDJSON sources an engine is reading. stop() ends their reading first and waits until each has
 * ingested what it read; a failure ends their reading at once.
 */
export class NdjsonSources {
  private readonly running = new Map<AbortController, Promise<void>>();

  constructor(private readonly context: SourceContext) {}

  ingest(input: AsyncIterable<Buffer | string>, options: NdjsonOptions): Promise<void> {
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    const done = ingestNdjson(input, { ...options, signal }, this.context);
    this.running.set(controller, done);
    const forget = () => this.running.delete(controller);
    done.then(forget, forget);
    return done;
  }

  /** Read no more input; resolves once every source has ingested what it read, or failed. */
  async stopReading(): Promise<void> {
    for (const controller of this.running.keys()) controller.abort();
    await Promise.allSettled(this.running.values());
  }
}

async function ingestNdjson(input: AsyncIterable<Buffer | string>, options: NdjsonOptions, context: SourceContext): Promise<void> {
  const { ingestion, pool, failure } = context;
  const name = options.sourceId ?? options.source ?? 'ndjson';
  const skip = options.skipLines ?? 0;
  // Announced before any line is reported: a bad first line must not register the source untracked.
  const src = await ingestion.lineSource(name, options.sourceId !== undefined);
  if (pool === null) return ingestOnThisThread(input, options, name, skip, ingestion);
  // Chunks are routed in parallel, and taken in one after another, in input order, as each is ready.
  let lineOffset = skip;
  /** The chunk being waited for, and where it starts: what the watchdog watches. */
  let head: { activity: RoutingActivity; lineOffset: number } | null = null;
  let admitted: Promise<void> = Promise.resolve();
  const inFlight: Array<Promise<void>> = [];
  let atStart = skip === 0;
  const watchdog = context.maxCallMs > 0 ? watchChunks(context, name, () => head) : null;
  // Slots a pool thread records its progress in: one per chunk when the watchdog reads them, else one for all.
  const unwatched = RoutingActivity.create();
  try {
    try {
      for await (const { bytes, read } of untilAborted(chunksOf(input, skip, options.chunkBytes ?? CHUNK_BYTES, options.live ?? false), options.signal)) {
        const activity = watchdog === null ? unwatched : RoutingActivity.create();
        const routed = pool.run({ bytes, atStart, src, now: Date.now(), activity: activity.buffer });
        atStart = false;
        admitted = admitted.then(async () => {
          head = { activity, lineOffset };
          const chunk = await failure.race(routed);
          head = null;
          await ingestion.admitChunk(chunk, src, lineOffset, options.sourceId);
          lineOffset += chunk.lines;
        });
        // A failure is thrown by the await below or the last one; the chunks after it are dropped with it.
        routed.catch(handledWhereAwaited);
        admitted.catch(handledWhereAwaited);
        inFlight.push(admitted);
        options.onProgress?.(read);
        while (inFlight.length > pool.threads * 2) await inFlight.shift();
      }
    } catch (err) {
      // The input failed: what was read is still ingested, as on the calling thread, then the error goes on.
      await Promise.allSettled(inFlight);
      throw err;
    }
    await admitted;
  } finally {
    if (watchdog) clearInterval(watchdog);
  }
  failure.throwIfFailed();
  await ingestion.durable();
}

/** The sequential way: batches of lines parsed here and routed by ingest(). */
async function ingestOnThisThread(input: AsyncIterable<Buffer | string>, options: NdjsonOptions, name: string, skip: number, ingestion: Ingestion): Promise<void> {
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
