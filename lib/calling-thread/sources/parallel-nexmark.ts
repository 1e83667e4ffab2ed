/**
 * The Nexmark generator as a parallel source (engine.ingestNexmark(), `keyflow demo`): the events are cut
 * into ranges of event numbers, which the source threads generate and route (see parallel-sources.ts), as
 * Nexmark's own sources split their generator. Event i is the same wherever it is generated
 * (nexmark/generator.ts), so the results are those of ingest() on one generator's events, with any number
 * of source threads. An event's position is its number + 1.
 *
 * With no pool (sourceThreads 0), the events are generated and routed on the calling thread.
 */
import { NexmarkGenerator, type GeneratorOptions } from '../../nexmark/generator.js';
import { KeyflowError, codes } from '../../shared/errors.js';
import { ingestChunks, type SourceContext } from './parallel-sources.js';
import { untilAborted } from './until-aborted.js';

export interface NexmarkOptions extends Omit<GeneratorOptions, 'first'> {
  /** How many events to generate. */
  events: number;
  /** The number of the first event (default 0); with `sourceId`, engine.resumePosition(sourceId) resumes where a checkpoint left off. */
  from?: number;
  /** Where the events come from, for error reports (default 'nexmark'). */
  source?: string;
  /** Exactly-once: a stable name for this generator, whose event numbers are its positions (see IngestOptions.sourceId). */
  sourceId?: string;
  /** Events per chunk (default CHUNK_EVENTS). */
  chunkEvents?: number;
  /** Called as chunks are cut, with the events generated so far (from `from`). */
  onProgress?: (events: number) => void;
  /** Stops generating: the chunks cut by then are ingested, and the call resolves. */
  signal?: AbortSignal;
}

export const CHUNK_EVENTS = 8192;
const GENERATOR_OPTIONS = ['seed', 'eventsPerSecond', 'outOfOrderMs', 'baseTime'] as const satisfies ReadonlyArray<keyof GeneratorOptions>;

export async function ingestNexmark(options: NexmarkOptions & { signal: AbortSignal }, context: SourceContext): Promise<void> {
  const { ingestion, pool } = context;
  for (const [name, value, least] of [['events', options.events, 0], ['from', options.from ?? 0, 0], ['chunkEvents', options.chunkEvents ?? CHUNK_EVENTS, 1]] as const) {
    if (!Number.isSafeInteger(value) || value < least) throw new KeyflowError(codes.CONFIG, `ingestNexmark(): ${name} must be an integer >= ${least}, not ${String(value)}`);
  }
  const name = options.sourceId ?? options.source ?? 'nexmark';
  const from = options.from ?? 0;
  const end = from + options.events;
  const size = options.chunkEvents ?? CHUNK_EVENTS;
  const generator: GeneratorOptions = {};
  for (const k of GENERATOR_OPTIONS) if (options[k] !== undefined) generator[k] = options[k];
  const src = await ingestion.lineSource(name, options.sourceId !== undefined);
  const ranges = (async function* () {
    for (let first = from; first < end; first += size) {
      const count = Math.min(size, end - first);
      yield { input: { nexmark: { ...generator, first, count } }, read: first + count - from };
      // The chunk loop takes an async iterable (as an input stream is); ranges need no waiting of their own.
      await Promise.resolve();
    }
  })();
  if (pool !== null) {
    return ingestChunks(ranges, { name, src, sourceId: options.sourceId, skip: from, signal: options.signal, ...(options.onProgress ? { onProgress: options.onProgress } : {}) }, pool, context);
  }
  for await (const { input, read } of untilAborted(ranges, options.signal)) {
    const { first, count } = input.nexmark;
    const lines = Array.from({ length: count }, (_, i) => first + i + 1);
    await ingestion.ingest(new NexmarkGenerator(input.nexmark).batch(count), options.sourceId !== undefined ? { sourceId: options.sourceId, lines } : { source: name, lines });
    options.onProgress?.(read);
  }
  context.failure.throwIfFailed();
  await ingestion.durable();
}
