/**
 * The V8 heap limits an actor's thread starts with, when actorResourceLimits leaves them to the engine.
 *
 * An actor that runs a later stage (or a pipeline reading another's results) keeps what it receives for a
 * while: a record waits for every producer's watermark, a join keeps each event until the watermark passes
 * its interval, a window keeps its pairs until it fires. With V8's young generation (48 MB) much of that
 * outlives two scavenges and is promoted, to be marked and compacted in the old generation; with a larger
 * one more of it dies young. Measured on 1 M Nexmark events (durability batch, one actor): q9 and q4
 * 10-20 % more events per CPU second with 128 MB, q8 the same; an actor that only keeps keyed state fewer
 * (q11's sessions 7-10 %, the state backends benchmark's 500,000 keys 25 %), as every scavenge copies more
 * of what lives on: those keep V8's own.
 */
import type { ResourceLimits } from 'node:worker_threads';
import type { Pipeline } from '../pipeline/pipeline.js';

export const STAGED_YOUNG_GENERATION_MB = 128;

/** The limits actors start with for `pipelines`: `given`, with a young generation chosen as above when it names none. */
export function actorHeapLimits(pipelines: readonly Pipeline[], given: ResourceLimits): ResourceLimits {
  if (given.maxYoungGenerationSizeMb !== undefined || !pipelines.some((p) => p.upstream !== null)) return given;
  return { ...given, maxYoungGenerationSizeMb: STAGED_YOUNG_GENERATION_MB };
}

/** Whether a thread started with limits `a` runs as one started with `b` would. */
export function sameHeapLimits(a: ResourceLimits, b: ResourceLimits): boolean {
  return a.maxYoungGenerationSizeMb === b.maxYoungGenerationSizeMb && a.maxOldGenerationSizeMb === b.maxOldGenerationSizeMb
    && a.codeRangeSizeMb === b.codeRangeSizeMb && a.stackSizeMb === b.stackSizeMb;
}
