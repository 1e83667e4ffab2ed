import type { DeadLetter } from '../shared/dead-letter.js';
import type { CheckpointStats } from './durability/checkpoint-coordinator.js';
import type { CheckpointRecord } from './durability/manifest.js';
import { EngineParts, type EngineSetup } from './engine-parts.js';
import { metricsOf, statsOf, type EngineMetrics, type EngineStats, type EngineSummary, type RecoveryInfo } from './engine-stats.js';
import { KeyflowError, codes, configError, type ErrorCode } from '../shared/errors.js';
import { Failure } from './failure.js';
import { afterFailure, reportedElsewhere } from '../shared/ignore.js';
import type { IngestOptions } from './ingestion.js';
import { ingestNdjson, type NdjsonOptions } from './sources/parallel-ndjson.js';
import { ingestNexmark, type NexmarkOptions } from './sources/parallel-nexmark.js';
import type { CarriedOutput } from './output-dispatch.js';
import type { OutputStream } from './outputs.js';
import { lastStageOf, stagesOf, type Pipeline } from '../pipeline/pipeline.js';
import type { NdjsonSink } from './sinks/ndjson.js';
import type { SinkOutput } from './sinks/sink-set.js';
import type { JetStreamSinkOptions } from './sinks/jetstream-sink.js';
import type { JetStreamSourceOptions } from './sources/jetstream-source.js';
import { randomUUID } from 'node:crypto';

/**
 * A running keyflow engine: a facade over the router and output pump on the calling thread and one
 * actor per worker thread (see engine-parts.ts, and the README's architecture section). Create it with `start()`.
 */
export class Engine {
  readonly pipelines: readonly Pipeline[];
  private readonly startedAt = performance.now();
  private readonly failure = new Failure(() => { this.failing = this.parts.windDown(); });
  /** After a failure: the actors stopped, what they had released delivered, the outputs ended. */
  private failing: Promise<void> | null = null;
  private readonly parts: EngineParts;
  private stopping: Promise<EngineSummary> | null = null;

  /** @internal use start() */
  constructor(private readonly setup: EngineSetup) {
    this.pipelines = setup.pipelines;
    this.parts = new EngineParts(setup, this.failure);
    const idleAfterMs = this.parts.router.idleAfterMs();
    if (idleAfterMs !== null) this.parts.ingestion.watchIdle(Math.max(1, idleAfterMs / 4), () => !this.stopping && !this.failure.error && this.parts.replay.info !== null);
  }

  /** Results of a pipeline: `{ key, windowStart, windowEnd, ...aggregates }` for windows. Subscribe before ingesting. */
  results<T = any>(pipeline: string): OutputStream<T> {
    return this.parts.outputs.stream(`results:${this.pipelines[this.outputPipe('results', pipeline)].name}`);
  }

  /**
   * Events of a pipeline that arrived after their windows (and allowed lateness) had closed. For a pipeline of
   * several stages, its first stage's; a later stage's by its number (`<name>/2`, …: see Shuffle.emit for what
   * reaches a later stage late).
   */
  late<T = any>(pipeline: string): OutputStream<T> {
    return this.parts.outputs.stream(`late:${this.pipelines[this.outputPipe('late', pipeline)].name}`);
  }

  /** Dead letters: bad events and throwing user functions, with what and where. */
  errors(): OutputStream<DeadLetter> {
    return this.parts.outputs.stream('errors');
  }

  get workerCount(): number {
    return this.parts.actors.count;
  }

  /** Threads that parse and route parallel sources (0: the calling thread does, see StartOptions.sourceThreads). */
  get sourceThreadCount(): number {
    return this.parts.sourcePool?.threads ?? 0;
  }

  stats(): EngineStats {
    return statsOf(this.parts);
  }

  metrics(): EngineMetrics {
    return metricsOf(this.parts, this.pipelines);
  }

  /** Where durable state lives (null: in memory only). */
  get stateDir(): string | null {
    return this.setup.options.stateDir;
  }

  checkpointStats(): CheckpointStats {
    return { ...this.parts.coordinator.stats };
  }

  /** What recovery found and did (after the first ingest(), stop() or recover()). */
  recoveryStats(): RecoveryInfo | null {
    return this.parts.replay.info;
  }

  /** Where an exactly-once source should resume: the highest position routed before the restored checkpoint. */
  resumePosition(sourceId: string): number | undefined {
    return this.parts.sources.positions.get(sourceId);
  }

  /**
   * A key's current state, asked of the actor that owns it over the control plane: for windows, `{ key,
   * windows: [{ windowStart, windowEnd, ...results so far }] }`; for a process function, `{ key, values,
   * maps, lists }`; undefined for a key with no state. It reflects the events that actor has applied.
   */
  async query(pipeline: string, key: unknown): Promise<unknown> {
    const pipe = this.pipe(pipeline);
    if (!this.pipelines[pipe].keySelector) throw configError(`query(): pipeline '${pipeline}' has no keyBy(), so it keeps no keyed state`);
    await this.parts.replay.ready();
    return this.parts.actors.query(pipe, key);
  }

  /** Each actor's operator state for a pipeline (its `ctx.operatorList` lists), in actor order: `[{ name: items }, …]`. */
  async operatorState(pipeline: string): Promise<Array<Record<string, unknown[]>>> {
    const pipe = this.pipe(pipeline);
    await this.parts.replay.ready();
    return this.parts.actors.operatorState(pipe);
  }

  /** Write a pipeline's results to an NDJSON file exactly once, across crashes and restarts. Call before ingesting. */
  writeResultsTo(pipeline: string, path: string): void {
    this.parts.sinks.add('results', this.outputPipe('results', pipeline), pipeline, path);
  }

  /**
   * Publish a pipeline's results to a NATS JetStream subject exactly once, across crashes and restarts
   * (message ids the server deduplicates within its stream's duplicate window: see jetstream-sink.ts). With
   * a state directory, what stop() fires at the end of input is held for the run that resumes (`atEnd`).
   * Resolves once connected; fails if no stream takes the subject. Call before ingesting.
   */
  async publishResultsTo(pipeline: string, options: JetStreamSinkOptions): Promise<void> {
    await this.publishTo('results', pipeline, options);
  }

  /** Publish a pipeline's late events to a JetStream subject exactly once, like publishResultsTo(). */
  async publishLateTo(pipeline: string, options: JetStreamSinkOptions): Promise<void> {
    await this.publishTo('late', pipeline, options);
  }

  /** Write a pipeline's late events to an NDJSON file exactly once, like writeResultsTo(). Call before ingesting. */
  writeLateTo(pipeline: string, path: string): void {
    this.parts.sinks.add('late', this.outputPipe('late', pipeline), pipeline, path);
  }

  /**
   * @internal Write a pipeline's results or late events to an NDJSON stream (not exactly once), as
   * `keyflow run` does without state; `wrap`: as `{ pipeline, result }` / `{ pipeline, event }`, for several
   * pipelines in one stream. The actors write the lines; a record JSON cannot write becomes a dead letter.
   * Call before ingesting; the caller closes the sink after stop().
   */
  writeNdjsonTo(output: SinkOutput, pipeline: string, sink: NdjsonSink, { wrap = false } = {}): void {
    this.parts.sinks.addStream(output, this.outputPipe(output, pipeline), pipeline, { sink, wrap });
  }

  /** Re-apply what the WAL holds after the restored checkpoint (ingest(), checkpoint() and stop() do it first). Subscribe before. */
  recover(): Promise<void> {
    return this.parts.replay.run();
  }

  /** Hear of each checkpoint as it completes (recorded in the manifest, its sinks committed); returns how to stop listening. */
  onCheckpoint(listener: (record: CheckpointRecord) => void): () => void {
    return this.parts.coordinator.onComplete(listener);
  }

  /** Take a checkpoint: a barrier goes to every actor in band. Resolves when it is complete. */
  checkpoint(): Promise<CheckpointRecord> {
    return this.parts.checkpoints.take(false);
  }

  /** Route events (one, or an array) to their actors. Resolves once they are durable; a full ring makes it wait. */
  ingest(events: unknown, options: IngestOptions = {}): Promise<void> {
    if (this.stopping) return Promise.reject(new KeyflowError(codes.STOPPED, 'ingest() after stop()'));
    return this.parts.ingestion.ingest(Array.isArray(events) ? events : [events], options);
  }

  /** Report input that never became an event (a line that is not JSON, say) as a dead letter. */
  reportBadInput(bad: { detail: string; source: string; line: number; raw?: string; code?: ErrorCode }): void {
    this.parts.ingestion.reportBadLine(bad, bad.source);
  }

  /**
   * Ingest newline-delimited JSON (a file's or stdin's bytes) as a parallel source: pool threads parse
   * it and run the pipelines' stateless functions on it (sourceThreads), in chunks; results are the same
   * as for ingest() of the same events in order. Bad lines become dead letters naming their line.
   * Resolves once every line is in and durable; stop() ends the reading (what was read is ingested).
   */
  ingestNdjson(input: AsyncIterable<Uint8Array | string>, options: NdjsonOptions = {}): Promise<void> {
    if (this.stopping) return Promise.reject(new KeyflowError(codes.STOPPED, 'ingestNdjson() after stop()'));
    const { parallel } = this.parts;
    return parallel.read(options.signal, (signal) => ingestNdjson(input, { ...options, signal }, parallel.context));
  }

  /**
   * Ingest generated Nexmark events (see nexmark/generator.ts) as a parallel source: pool threads generate
   * ranges of events and run the pipelines' stateless functions on them (sourceThreads); results are the
   * same as for ingest() of one generator's events in order. Resolves once every event is in and durable;
   * stop() ends the generating (what was generated is ingested).
   */
  ingestNexmark(options: NexmarkOptions): Promise<void> {
    if (this.stopping) return Promise.reject(new KeyflowError(codes.STOPPED, 'ingestNexmark() after stop()'));
    const { parallel } = this.parts;
    return parallel.read(options.signal, (signal) => ingestNexmark({ ...options, signal }, parallel.context));
  }

  /**
   * Ingest a NATS JetStream stream (see jetstream-source.ts): messages pulled in batches, each one JSON event,
   * parsed and routed on the source threads; exactly once with a state directory (a stream sequence is a
   * position; the consumer acknowledges what each checkpoint covers). Resolves once caught up (with
   * `untilCaughtUp`) and durable; otherwise reads until stop().
   */
  async ingestJetStream(options: JetStreamSourceOptions): Promise<void> {
    if (this.stopping) throw new KeyflowError(codes.STOPPED, 'ingestJetStream() after stop()');
    const { ingestJetStream } = await import('./sources/jetstream-source.js');
    const { parallel, coordinator, sources } = this.parts;
    const checkpoints = this.stateDir === null ? null : {
      resumePosition: (id: string) => sources.positions.get(id),
      onComplete: (listener: (record: CheckpointRecord) => void) => coordinator.onComplete(listener),
      request: () => void this.checkpoint().catch(reportedElsewhere),
    };
    const engine = { checkpoints, atRelease: (close: () => Promise<void>) => this.parts.atRelease(close), lag: (id: string, n: number) => sources.lag.set(id, n) };
    await parallel.read(options.signal, (signal) => ingestJetStream({ ...options, signal }, parallel.context, engine));
  }

  /** End at once, as a failure would: no drain, no final checkpoint. Released outputs still reach the sinks, uncommitted. */
  async abort(): Promise<void> {
    this.failure.fail(new KeyflowError(codes.STOPPED, 'the engine was aborted'));
    await this.stop().catch(afterFailure);
  }

  /** What the calling thread is routing, for a watcher on another thread (see routing-activity.ts). */
  routingActivity(): SharedArrayBuffer {
    return this.parts.routing.buffer;
  }

  /** Drain everything ingested, fire every remaining window (the watermark goes to +∞), end the actors. */
  stop(): Promise<EngineSummary> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** @internal How a rescaling pre-run hands its state and outputs to the engine that follows (see start.ts). */
  checkpointAndClose(): Promise<{ checkpoint: CheckpointRecord; outputs: CarriedOutput[] }> {
    return this.parts.handOver();
  }

  private async shutdown(): Promise<EngineSummary> {
    this.parts.stopTimers();
    // Parallel sources stop reading, and ingest what they read, before the end marker.
    await this.parts.parallel.stopReading();
    await this.parts.ingestion.settled();
    if (!this.failure.error) {
      // A final checkpoint before the end marker: what a later run on this stateDir resumes from.
      if (this.stateDir) await this.checkpoint().catch(reportedElsewhere);
      else await this.recover();
      this.parts.sinks.endOfInput();
      await this.parts.ingestion.end();
      await this.parts.pumping;
    }
    if (this.failing) await this.failing;
    await this.parts.release(!this.failure.error);
    this.failure.throwIfFailed();
    const elapsedMs = performance.now() - this.startedAt;
    return { ...this.stats(), elapsedMs, eventsPerSecond: this.parts.ingestion.eventsIn / (elapsedMs / 1000), checkpoints: this.checkpointStats() };
  }

  private async publishTo(output: SinkOutput, pipeline: string, options: JetStreamSinkOptions): Promise<void> {
    const pipe = this.outputPipe(output, pipeline);
    const { sinks } = this.parts;
    sinks.free(output, pipe, pipeline);
    // Recovery waits for the sink (its module loads first): what the WAL's replay emits must reach it.
    const adding = (async () => {
      const { JetStreamSink } = await import('./sinks/jetstream-sink.js');
      // Without a state directory nothing resumes: what the end of input fires is final.
      const owner = sinks.owner.stateId ?? `run-${randomUUID()}`;
      const sink = new JetStreamSink(this.stateDir === null ? { ...options, atEnd: options.atEnd ?? 'publish' } : options, this.pipelines[pipe].name, output, owner, sinks.maxKeyGroups, sinks.fail);
      try {
        sinks.addSink(output, pipe, pipeline, sink);
      } catch (err) {
        // Another call took that output meanwhile.
        await sink.close();
        throw err;
      }
      return sink;
    })();
    sinks.adding(adding);
    // It takes outputs at once and publishes them once connected.
    await (await adding).ready;
  }

  /**
   * The pipe whose results (or late events) pipeline `name` means. A pipeline of several stages has its
   * results from its last stage and, by its own name, its late events from its first (where the input's late
   * events are); a stage named by its number gives its own. The results of a stage that feeds another go
   * there, not out.
   */
  private outputPipe(output: SinkOutput, name: string): number {
    const pipe = this.pipe(name);
    const p = this.pipelines[pipe];
    if (output === 'late') return name === p.name && p.downstream === null ? this.pipelines.indexOf(stagesOf(p)[0]) : pipe;
    if (p.downstream !== null) throw configError(`'${name}' is a stage whose results go to the next one, '${p.downstream.name}': take the results of '${lastStageOf(p).name}'`);
    return pipe;
  }

  /** A pipeline by its name; the last stage of a pipeline of several also by its number (`<name>/<stages>`). */
  private pipe(name: string): number {
    const pipe = this.pipelines.findIndex((p) => p.name === name || (p.upstream !== null && p.downstream === null && `${p.name}/${stagesOf(p).length}` === name));
    if (pipe < 0) throw new KeyflowError(codes.UNKNOWN_PIPELINE, `unknown pipeline '${name}'; this engine runs: ${this.pipelines.map((p) => `'${p.name}'`).join(', ')}`);
    return pipe;
  }
}
