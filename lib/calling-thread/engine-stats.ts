/** What an engine reports about itself: counts, metrics, its summary at the end, and what recovery did. */
import type { RingFill } from './actor-link.js';
import type { CheckpointStats } from './durability/checkpoint-coordinator.js';
import type { EngineParts } from './engine-parts.js';
import type { Pipeline } from '../pipeline/pipeline.js';

export interface EngineStats {
  events: number;
  results: number;
  late: number;
  errors: number;
}

/** What the metrics endpoint exports (see serve.ts): counts, ring fill, watermarks, durability. */
export interface EngineMetrics {
  eventsIn: number;
  /** Per pipeline: results and late events out, dead letters, and the watermark now. */
  pipelines: Array<{ name: string; results: number; late: number; errors: number; watermark: number }>;
  /** Dead letters of input that never reached a pipeline (a line that is not JSON). */
  inputErrors: number;
  /** Per actor: bytes waiting in its input ring and its output ring, of `capacity` each. */
  rings: RingFill[];
  checkpoints: CheckpointStats;
  /** Per source from a broker (a JetStream stream): messages not read yet, as of its latest pull. */
  sourceLag: Array<{ source: string; messages: number }>;
}

export interface EngineSummary extends EngineStats {
  elapsedMs: number;
  eventsPerSecond: number;
  checkpoints: CheckpointStats;
}

/** What the state directory held when the engine started. */
export interface RecoveryInfo {
  /** The checkpoint restored, or null on a fresh start. */
  checkpoint: number | null;
  /** WAL frames re-applied after it, and the bytes of a torn last record cut off. */
  replayedFrames: number;
  tornBytes: number;
  /** How long restoring snapshots and replaying took (measured from start()). */
  ms: number;
}

export function statsOf({ dispatch: { counts, inputErrors }, ingestion }: EngineParts): EngineStats {
  const sum = (n: (c: (typeof counts)[number]) => number) => counts.reduce((t, c) => t + n(c), 0);
  return { events: ingestion.eventsIn, results: sum((c) => c.results), late: sum((c) => c.late), errors: sum((c) => c.errors) + inputErrors };
}

export function metricsOf({ router, ingestion, dispatch, actors, coordinator, sources }: EngineParts, pipelines: readonly Pipeline[]): EngineMetrics {
  const watermarks = router.watermarks();
  return {
    eventsIn: ingestion.eventsIn,
    pipelines: pipelines.map((p, i) => ({ name: p.name, ...dispatch.counts[i], watermark: watermarks[i] })),
    inputErrors: dispatch.inputErrors,
    rings: actors.rings(),
    checkpoints: { ...coordinator.stats },
    sourceLag: [...sources.lag].map(([source, messages]) => ({ source, messages })),
  };
}
