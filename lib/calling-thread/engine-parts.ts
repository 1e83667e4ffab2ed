/**
 * The calling thread's parts of an engine and how they are wired: the router feeds the actors' input
 * rings, the output pump reads their output rings into the dispatch, checkpoints queue behind ingestion.
 * Each part is a module of its own that takes callbacks; the Engine (engine.ts) is the facade over them.
 */
import type { ActorLink } from './actor-link.js';
import { ActorSet } from './actor-set.js';
import { Checkpoints } from './checkpoints.js';
import { CheckpointCoordinator } from './durability/checkpoint-coordinator.js';
import type { Lock } from './durability/lock.js';
import type { CheckpointRecord } from './durability/manifest.js';
import type { Recovery } from './durability/state-dir.js';
import { KeyflowError, codes, describeThrown } from '../shared/errors.js';
import { abandoned } from '../shared/ignore.js';
import type { Failure } from './failure.js';
import { Ingestion } from './ingestion.js';
import type { ResolvedOptions } from './options.js';
import { OutputDispatch, type CarriedOutput } from './output-dispatch.js';
import { OutputPump } from './output-pump.js';
import { OutputPlanner } from './output-plan.js';
import { Outputs } from './outputs.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Doorbell } from '../shared/ring/doorbell.js';
import { Router } from '../shared/router.js';
import { RoutingActivity } from '../shared/routing-activity.js';
import { Replay } from './replay.js';
import { SinkSet } from './sinks/sink-set.js';
import type { SourcePool } from './source-pool.js';
import { ParallelSources } from './sources/parallel-sources.js';
import { SourceRegistry } from './sources/registry.js';

/** What start() hands the engine. */
export interface EngineSetup {
  pipelines: Pipeline[];
  options: ResolvedOptions;
  links: ActorLink[];
  /** The module each pipeline is imported from, in a worker thread. */
  moduleUrls: string[];
  doorbell: Doorbell;
  recovery: Recovery | null;
  startedAt: number;
  /** Outputs of a rescaling pre-run, delivered first by recover(). */
  carried: CarriedOutput[];
  /** Removes what the engine's actors leave behind (a temporary LMDB directory), once they have ended. */
  cleanup: () => void;
  /** The state directory's lock, released when the engine stops (null without a state directory). */
  lock: Lock | null;
  /** The threads of parallel sources (null: sourceThreads 0). */
  sourcePool: SourcePool | null;
}

export class EngineParts {
  readonly sources = new SourceRegistry();
  readonly outputs = new Outputs();
  /** What the calling thread is routing (see routing-activity.ts), for a watcher on another thread. */
  readonly routing = RoutingActivity.create();
  readonly actors: ActorSet;
  readonly router: Router;
  readonly sinks: SinkSet;
  readonly dispatch: OutputDispatch;
  readonly pump: OutputPump;
  /** The output pump's run: it settles when every actor has ended, or the pump is stopped. */
  readonly pumping: Promise<void>;
  readonly ingestion: Ingestion;
  readonly coordinator: CheckpointCoordinator;
  readonly checkpoints: Checkpoints;
  readonly replay: Replay;
  /** Threads for parallel sources, started on first use (null: sourceThreads 0). */
  readonly sourcePool: SourcePool | null;
  /** The parallel sources being read (engine.ingestNdjson(), engine.ingestNexmark()). */
  readonly parallel: ParallelSources;
  private readonly closers: Array<() => Promise<void>> = [];
  private readonly lock: Lock | null;
  /** keepActorThreadsMs: how long the actors' threads wait for a next engine after a clean end. */
  private readonly keepActorThreadsMs: number;

  constructor(setup: EngineSetup, failure: Failure) {
    const { pipelines, options, links, recovery } = setup;
    const fail = (err: KeyflowError) => failure.fail(err);
    const sources = this.sources;
    this.lock = setup.lock;
    this.keepActorThreadsMs = options.keepActorThreadsMs;
    this.actors = new ActorSet(links, failure, { pipelineNames: pipelines.map((p) => p.name), locate: (src, pos) => sources.locate(src, pos) },
      options.maxKeyGroups, options.maxCallMs, setup.cleanup);
    this.sinks = new SinkSet(options.maxKeyGroups, { stateId: recovery?.id ?? null, resuming: Boolean(recovery?.checkpoint) }, fail);
    const manifest = recovery?.manifest ?? { version: 1 as const, maxKeyGroups: options.maxKeyGroups, pipelines: pipelines.map((p) => p.name), checkpoints: [] };
    const coordinator = this.coordinator = new CheckpointCoordinator(options.stateDir, manifest, links.length, () => this.sinks.commit(),
      (err) => failure.fail(err instanceof KeyflowError ? err : new KeyflowError(codes.FAILED, `a checkpoint could not complete: ${describeThrown(err)}`, err)));
    const dispatch = this.dispatch = new OutputDispatch(pipelines, this.outputs, this.sinks, sources, options.onError, failure, (id, ack) => coordinator.ack(id, ack));
    this.router = new Router([...pipelines], links.map((l) => l.sender), options.maxKeyGroups, (p, pipe, src, pos) => dispatch.problem(p, pipe, src, pos),
      (pipe, src, pos, time) => dispatch.warnFutureTime(pipe, src, pos, time), this.routing);
    if (recovery?.checkpoint) {
      for (const [name, pos] of recovery.checkpoint.sources) sources.positions.set(name, pos);
      this.router.restoreEventTimes(recovery.checkpoint.eventTimes ?? []);
    }
    this.pump = new OutputPump(links.map((l) => l.output), setup.doorbell, (f) => dispatch.dispatch(f), () => dispatch.ended === links.length);
    // An output frame that cannot be read (say, a value nested deeper than this thread's stack allows,
    // though the actor's larger stack could write it) ends the run with a message, never a bare stack.
    this.pumping = this.pump.run().catch((err: unknown) => fail(new KeyflowError(codes.WORKER, `cannot read the actors' output: ${describeThrown(err)}`, err)));
    const planner = new OutputPlanner(pipelines, this.outputs, this.sinks, this.actors, () => dispatch.captured !== null);
    // A checkpoint restored but not in the manifest was taken by a rescaling pre-run (see start.ts).
    const restored = recovery?.checkpoint;
    const adopt = restored && !recovery.manifest?.checkpoints.some((c) => c.id === restored.id) ? () => coordinator.adopt(restored) : null;
    this.replay = new Replay(this.actors, dispatch, planner, failure, setup.carried, restored?.id ?? null, setup.startedAt, this.router, adopt);
    const recover = () => this.replay.run();
    this.ingestion = new Ingestion(this.router, this.actors, sources, this.routing, failure, (p, pipe, src, pos) => dispatch.problem(p, pipe, src, pos), recover,
      () => this.checkpoints.afterBatch());
    this.sourcePool = setup.sourcePool;
    this.parallel = new ParallelSources({ ingestion: this.ingestion, pool: this.sourcePool, failure, pipelineNames: pipelines.map((p) => p.name), maxCallMs: options.maxCallMs });
    this.checkpoints = new Checkpoints(coordinator, recovery?.nextCheckpoint ?? 1, options, this.ingestion, this.router, sources, this.actors, failure, recover,
      () => this.replay.info !== null);
  }

  stopTimers(): void {
    this.checkpoints.stop();
    this.ingestion.stop();
  }

  /** After a failure: stop the actors, hand on what they had released (final: their input was durable), end. */
  async windDown(): Promise<void> {
    // Read no more input; the sources end with the failure.
    void this.parallel.stopReading();
    this.pump.stop();
    await this.actors.terminate();
    await this.pumping;
    this.pump.drain();
    await this.release();
  }

  /** Run `close` (a source's connection to a broker) as the engine lets go, after its final checkpoint. */
  atRelease(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  /**
   * End the actors and the outputs, and let the files and the state directory go (a new engine may take
   * them). `clean`: every actor reached the end, and its thread may wait for a next engine (idle-actors.ts).
   */
  async release(clean = false): Promise<void> {
    try {
      // A sink reports its own failures (the engine fails): closing never throws here.
      const keepMs = this.keepActorThreadsMs;
      const actors = clean && keepMs > 0 ? this.actors.release(keepMs) : this.actors.terminate();
      await Promise.all([this.sinks.close(), actors, this.sourcePool?.destroy(), ...this.closers.map((close) => close().catch(abandoned))]);
      this.outputs.endAll();
    } finally {
      this.lock?.release();
    }
  }

  /**
   * A rescaling pre-run hands its state over: replay, snapshot every key-group (a provisional checkpoint),
   * end the actors without the end marker (windows stay open), and return what replay emitted.
   */
  async handOver(): Promise<{ checkpoint: CheckpointRecord; outputs: CarriedOutput[] }> {
    this.stopTimers();
    const outputs: CarriedOutput[] = (this.dispatch.captured = []);
    const checkpoint = await this.checkpoints.take(true);
    this.pump.stop();
    await Promise.all([this.actors.terminate(), this.sourcePool?.destroy()]);
    this.outputs.endAll();
    return { checkpoint, outputs };
  }
}
