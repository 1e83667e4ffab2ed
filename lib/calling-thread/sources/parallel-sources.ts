/**
 * The parallel sources an engine is reading (engine.ingestNdjson(), engine.ingestNexmark()), and the loop
 * they share: the input comes as chunks (whole NDJSON lines, or ranges of generated events); pool threads
 * parse or generate them, run every pipeline's stateless part and encode frames per actor
 * (pool-thread/route-chunk.ts), several chunks at once; the calling thread takes finished chunks in, in
 * input order (Ingestion.admitChunk), and so handles frames and bytes, not events. A bounded number of
 * chunks is in flight: a slow actor or reader slows the input down (backpressure).
 */
import type { ChunkInput } from '../../shared/chunk-protocol.js';
import type { Failure } from '../failure.js';
import type { Ingestion } from '../ingestion.js';
import { RoutingActivity } from '../../shared/routing-activity.js';
import type { SourcePool } from '../source-pool.js';
import { handledWhereAwaited } from '../../shared/ignore.js';
import { watchChunks } from './chunk-watchdog.js';
import { untilAborted } from './until-aborted.js';

/**
 * Chunks in flight per source thread. Chunks are taken in in order, and only the calling thread hands out
 * new ones: with two per thread, a source thread sat idle for a tenth of the run whenever the calling
 * thread lost its core to the others (tumbling-bids from the generator on 2 cores: 1.75 M events/s with
 * two, 1.84 M with four, medians of six; `keyflow run` 1.13 s against 1.11 s).
 */
const IN_FLIGHT_PER_THREAD = 4;

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

/** A source's running reads: stop() ends their reading first and waits until each has ingested what it read; a failure ends them at once. */
export class ParallelSources {
  private readonly running = new Map<AbortController, Promise<void>>();

  constructor(readonly context: SourceContext) {}

  /** Run a source's read with a signal that stopReading() (or the caller's own `signal`) aborts. */
  read(signal: AbortSignal | undefined, reading: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const controller = new AbortController();
    const done = reading(signal ? AbortSignal.any([signal, controller.signal]) : controller.signal);
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

export interface ChunkedRead {
  /** The source's name (in reports) and id (positions). */
  name: string;
  src: number;
  /** Exactly-once: the stable name whose positions the checkpoint keeps. */
  sourceId: string | undefined;
  /** Positions (lines, or event numbers) before the first chunk. */
  skip: number;
  signal: AbortSignal;
  /** Called as chunks are cut, with how far the input has been read. */
  onProgress?: (read: number) => void;
}

/**
 * A chunk of input, `read`: how far the input has been read; `first`: the position of its first line, when
 * it does not follow the chunk before it (a stream's positions may jump, see jetstream-source.ts).
 */
export interface Chunk {
  input: ChunkInput;
  read: number;
  first?: number;
}

/** Route the chunks on the pool, take them in in order; resolves once every chunk cut before the signal is durable. */
export async function ingestChunks(chunks: AsyncIterable<Chunk>, read: ChunkedRead, pool: SourcePool, context: SourceContext): Promise<void> {
  const { ingestion, failure } = context;
  let lineOffset = read.skip;
  /** The chunk being waited for, and where it starts: what the watchdog watches. */
  let head: { activity: RoutingActivity; lineOffset: number } | null = null;
  let admitted: Promise<void> = Promise.resolve();
  const inFlight: Array<Promise<void>> = [];
  const watchdog = context.maxCallMs > 0 ? watchChunks(context, read.name, () => head) : null;
  // Slots a pool thread records its progress in: one per chunk when the watchdog reads them, else one for all.
  const unwatched = RoutingActivity.create();
  try {
    try {
      for await (const { input, read: done, first } of untilAborted(chunks, read.signal)) {
        const activity = watchdog === null ? unwatched : RoutingActivity.create();
        const task = { input, src: read.src, now: Date.now(), activity: activity.buffer, combine: read.sourceId === undefined };
        const routed = pool.run(task);
        // The same chunk event by event, when its combined window panes turn out not to be exact (see chunk-admission.ts).
        const reroute = async (again: ChunkInput) => {
          head = { activity, lineOffset };
          try {
            return await failure.race(pool.run({ ...task, input: again, combine: false }));
          } finally {
            head = null;
          }
        };
        admitted = admitted.then(async () => {
          if (first !== undefined) lineOffset = first - 1;
          head = { activity, lineOffset };
          const chunk = await failure.race(routed);
          head = null;
          await ingestion.admitChunk(chunk, read.src, lineOffset, read.sourceId, reroute);
          lineOffset += chunk.lines;
        });
        // A failure is thrown by the await below or the last one; the chunks after it are dropped with it.
        routed.catch(handledWhereAwaited);
        admitted.catch(handledWhereAwaited);
        inFlight.push(admitted);
        read.onProgress?.(done);
        while (inFlight.length > pool.threads * IN_FLIGHT_PER_THREAD) await inFlight.shift();
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
