import type { Worker } from 'node:worker_threads';
import { Activity } from './actor/activity.js';
import { whereabouts } from './actor/whereabouts.js';
import type { ActorCommand, ActorInit, ActorMessage } from './actor/init.js';
import type { FrameView } from './codec/frame.js';
import { FrameSender } from './codec/frame-sender.js';
import { Kind, type SnapshotAck } from './codec/records.js';
import { BATCH_SPAN, deadLetter, unwritable, where, type DeadLetter, type Location, type Problem } from './dead-letter.js';
import { CheckpointCoordinator, type CheckpointStats } from './durability/checkpoint-coordinator.js';
import type { Lock } from './durability/lock.js';
import type { CheckpointRecord } from './durability/manifest.js';
import type { Recovery } from './durability/state-dir.js';
import { KeyflowError, codes, configError, describeThrown, type ErrorCode } from './errors.js';
import { actorOf, keyGroupOf, stateKeyOf } from './keygroups.js';
import type { ResolvedOptions } from './options.js';
import { OutputPump } from './output-pump.js';
import { Outputs, type OutputStream } from './outputs.js';
import type { Pipeline } from './pipeline.js';
import type { Doorbell } from './ring/doorbell.js';
import { DurableCounter } from './ring/durable-counter.js';
import { occupancy } from './ring/layout.js';
import { RingReader } from './ring/reader.js';
import { RingWriter } from './ring/writer.js';
import { Router } from './router.js';
import { RoutingActivity } from './routing-activity.js';
import { ExactlyOnceFileSink, type SinkOwner } from './sinks/exactly-once-file.js';
import { SourceRegistry } from './sources/registry.js';

export interface IngestOptions {
  /** Where these events come from, for error reports (default 'ingest'). */
  source?: string;
  /** Line numbers of the events in their source, one per event, for error reports. */
  lines?: number[];
  /**
   * Exactly-once: a stable name for the producer. With `seq` (a batch number that grows with each new
   * batch) or `lines` (stable, growing positions), actors skip events they have already applied, so a
   * producer that resends unacknowledged batches after a crash is never double counted.
   */
  sourceId?: string;
  seq?: number;
}

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
  rings: Array<{ actor: number; input: number; output: number; capacity: number }>;
  checkpoints: CheckpointStats;
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

export interface EngineSetup {
  pipelines: Pipeline[];
  options: ResolvedOptions;
  workers: Worker[];
  inputs: ActorInit['input'][];
  outputs: ActorInit['output'][];
  activities: ActorInit['activity'][];
  doorbell: Doorbell;
  recovery: Recovery | null;
  startedAt: number;
  carried: CarriedOutput[];
  /** Removes what the engine's actors leave behind (a temporary LMDB directory), once they have ended. */
  cleanup: () => void;
  /** The state directory's lock, released when the engine stops (null without a state directory). */
  lock?: Lock | null;
}

/** An output record as the main thread receives it (see codec/records.ts). */
export interface CarriedOutput {
  kind: number;
  pipe: number;
  kg: number;
  src: number;
  /** For results and late events, their number in the key-group; for errors, the event's position. */
  pos: number;
  value: unknown;
}

/** Check the events between ring pushes this often, so a full ring pauses routing early. */
const PUSH_CHECK_EVERY = 256;

/**
 * A running keyflow engine: the router and output pump on the calling thread, one actor per worker
 * thread. Create it with `start()`.
 */
export class Engine {
  private eventsIn = 0;
  /** Outputs per pipeline (the totals in stats() add them up). */
  private readonly pipelineCounts: Array<{ results: number; late: number; errors: number }>;
  private inputErrors = 0;
  private readonly rings: Array<{ input: Int32Array; output: Int32Array; capacity: number }>;
  private readonly sources = new SourceRegistry();
  private readonly outputs = new Outputs();
  private readonly senders: FrameSender[];
  private readonly router: Router;
  private readonly pump: OutputPump;
  private readonly pumping: Promise<void>;
  private readonly startedAt = performance.now();
  private readonly durable: DurableCounter[];
  private readonly checkpoints: CheckpointCoordinator;
  /** Exactly-once files: every one, and per pipeline the one for its results and the one for its late events. */
  private readonly sinks: ExactlyOnceFileSink[] = [];
  private readonly resultSinks: Array<ExactlyOnceFileSink | undefined>;
  private readonly lateSinks: Array<ExactlyOnceFileSink | undefined>;
  private readonly sinkOwner: SinkOwner;
  private readonly lock: Lock | null;
  private readonly recovery: Recovery | null;
  private readonly setupStartedAt: number;
  private recovered: Promise<void> | null = null;
  private replayed: Array<Extract<ActorMessage, { type: 'replayed' }>> = [];
  private recoveryInfo: RecoveryInfo | null = null;
  private nextCheckpoint: number;
  private bytesAtCheckpoint = 0;
  private readonly timer: NodeJS.Timeout | null;
  /** With idle sources: re-judges idleness while no input comes, so the watermark can move on. */
  private readonly idleTimer: NodeJS.Timeout | null;
  /** What each actor is doing (see actor/activity.ts), for failure messages and the maxCallMs watchdog. */
  private readonly activities: Activity[];
  private readonly watchdog: NodeJS.Timeout | null;
  /** What the calling thread is routing (see routing-activity.ts), for a watcher on another thread. */
  private readonly routing = RoutingActivity.create();
  private tail: Promise<void> = Promise.resolve();
  /** Outputs of a rescaling pre-run, delivered first by recover(). */
  private readonly carried: CarriedOutput[];
  private captured: CarriedOutput[] | null = null;
  private ended = 0;
  private failure: KeyflowError | null = null;
  /** After a failure: the actors stopped, what they had released delivered, the outputs ended. */
  private failing: Promise<void> | null = null;
  /** Set once the engine ends its workers itself; any exit before that is a crash. */
  private terminating = false;
  private stopping: Promise<EngineSummary> | null = null;
  private onReplayed: (() => void) | null = null;
  private rejectFailed!: (e: KeyflowError) => void;
  /** Rejects when the engine fails, so waits on actors can give up. */
  private readonly failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
  private nextQuery = 0;
  private readonly queries = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  readonly pipelines: readonly Pipeline[];
  private readonly options: ResolvedOptions;
  private readonly workers: Worker[];

  private readonly cleanup: () => void;

  /** @internal use start() */
  constructor({ pipelines, options, workers, inputs, outputs, activities, doorbell, recovery, startedAt, carried, cleanup, lock = null }: EngineSetup) {
    this.cleanup = cleanup;
    this.lock = lock;
    this.resultSinks = pipelines.map(() => undefined);
    this.lateSinks = pipelines.map(() => undefined);
    this.sinkOwner = { stateId: recovery?.id ?? null, resuming: Boolean(recovery?.checkpoint) };
    this.carried = carried;
    this.pipelines = pipelines;
    this.options = options;
    this.workers = workers;
    this.recovery = recovery;
    this.setupStartedAt = startedAt;
    this.nextCheckpoint = recovery?.nextCheckpoint ?? 1;
    this.pipelineCounts = pipelines.map(() => ({ results: 0, late: 0, errors: 0 }));
    this.rings = inputs.map((ring, a) => ({ input: new Int32Array(ring.control), output: new Int32Array(outputs[a].control), capacity: ring.data.byteLength }));
    this.durable = inputs.map((ring) => new DurableCounter(ring));
    const manifest = recovery?.manifest ?? { version: 1 as const, maxKeyGroups: options.maxKeyGroups, pipelines: pipelines.map((p) => p.name), checkpoints: [] };
    this.checkpoints = new CheckpointCoordinator(options.stateDir, manifest, workers.length, () => { for (const s of this.sinks) s.commit(); });
    if (recovery?.checkpoint) for (const [name, pos] of recovery.checkpoint.sources) this.sources.positions.set(name, pos);
    this.senders = inputs.map((ring) => new FrameSender(new RingWriter(ring), options.frameRecords));
    this.router = new Router([...pipelines], this.senders, options.maxKeyGroups, (p, pipe, src, pos) => this.problem(p, pipe, src, pos),
      (pipe, src, pos, time) => this.warnFutureTime(pipe, src, pos, time), this.routing);
    this.pump = new OutputPump(outputs.map((r) => new RingReader(r)), doorbell, (f) => this.dispatch(f), () => this.ended === workers.length);
    // An output frame that cannot be read (say, a value nested deeper than this thread's stack allows,
    // though the actor's larger stack could write it) ends the run with a message, never a bare stack.
    this.pumping = this.pump.run().catch((err: unknown) => {
      this.fail(new KeyflowError(codes.WORKER, `cannot read the actors' output: ${describeThrown(err)}`, err));
    });
    if (recovery?.checkpoint) this.router.restoreEventTimes(recovery.checkpoint.eventTimes ?? []);
    this.timer = options.stateDir && options.snapshotEveryMs > 0
      ? setInterval(() => { this.checkpoint().catch(() => {}); }, options.snapshotEveryMs).unref()
      : null;
    const idleAfterMs = this.router.idleAfterMs();
    this.idleTimer = idleAfterMs === null ? null : setInterval(() => this.advanceIdle(), Math.max(1, idleAfterMs / 4)).unref();
    this.activities = activities.map((buffer) => new Activity(buffer));
    this.watchdog = options.maxCallMs > 0 ? this.watchCalls(options.maxCallMs) : null;
    workers.forEach((w, actor) => {
      w.on('message', (m: ActorMessage) => this.onActorMessage(m));
      w.on('error', (err: Error & { code?: string }) => {
        const hint = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? ' — give the actors more memory (node --max-old-space-size=MB), or keep keyed state on disk (stateBackend \'lmdb\')' : '';
        this.fail(new KeyflowError(codes.WORKER, `an actor thread crashed (${err.message}); ${this.whereabouts(actor)}${hint}`, err));
      });
      w.on('exit', (code) => {
        if (!this.terminating) this.fail(new KeyflowError(codes.WORKER, `an actor thread exited unexpectedly (code ${code}); ${this.whereabouts(actor)}`));
      });
    });
  }

  /** Results of a pipeline: `{ key, windowStart, windowEnd, ...aggregates }` for windows. Subscribe before ingesting. */
  results<T = any>(pipeline: string): OutputStream<T> {
    return this.outputs.stream(`results:${this.pipelineName(pipeline)}`);
  }

  /** Events of a pipeline that arrived after their windows (and allowed lateness) had closed. */
  late<T = any>(pipeline: string): OutputStream<T> {
    return this.outputs.stream(`late:${this.pipelineName(pipeline)}`);
  }

  /** Dead letters: bad events and throwing user functions, with what and where. */
  errors(): OutputStream<DeadLetter> {
    return this.outputs.stream('errors');
  }

  get workerCount(): number {
    return this.workers.length;
  }

  stats(): EngineStats {
    const sum = (pick: (c: { results: number; late: number; errors: number }) => number) => this.pipelineCounts.reduce((n, c) => n + pick(c), 0);
    return { events: this.eventsIn, results: sum((c) => c.results), late: sum((c) => c.late), errors: sum((c) => c.errors) + this.inputErrors };
  }

  metrics(): EngineMetrics {
    const watermarks = this.router.watermarks();
    return {
      eventsIn: this.eventsIn,
      pipelines: this.pipelines.map((p, i) => ({ name: p.name, ...this.pipelineCounts[i], watermark: watermarks[i] })),
      inputErrors: this.inputErrors,
      rings: this.rings.map((r, actor) => ({ actor, input: occupancy(r.input), output: occupancy(r.output), capacity: r.capacity })),
      checkpoints: this.checkpointStats(),
    };
  }

  /** Where durable state lives (null: in memory only). */
  get stateDir(): string | null {
    return this.options.stateDir;
  }

  checkpointStats(): CheckpointStats {
    return { ...this.checkpoints.stats };
  }

  /** What recovery found and did (after the first ingest(), stop() or recover()). */
  recoveryStats(): RecoveryInfo | null {
    return this.recoveryInfo;
  }

  /**
   * Where an exactly-once source should resume: the highest position routed before the restored
   * checkpoint (undefined if unknown). Resending from there is safe: actors skip what they already have.
   */
  resumePosition(sourceId: string): number | undefined {
    return this.sources.positions.get(sourceId);
  }

  /**
   * A key's current state, asked of the actor that owns it over the control plane (never the data
   * rings): for windows, `{ key, windows: [{ windowStart, windowEnd, ...results so far }] }`; for a
   * process function, `{ key, values, maps, lists }`; undefined for a key with no state. It reflects the
   * events that actor has applied, which may trail ingest() by the events still in its ring.
   */
  async query(pipeline: string, key: unknown): Promise<unknown> {
    const pipe = this.pipelines.findIndex((p) => p.name === this.pipelineName(pipeline));
    if (!this.pipelines[pipe].keySelector) throw configError(`query(): pipeline '${pipeline}' has no keyBy(), so it keeps no keyed state`);
    this.throwIfFailed();
    await this.recover();
    const kg = keyGroupOf(stateKeyOf(key), this.options.maxKeyGroups);
    return this.ask(this.workers[actorOf(kg, this.workers.length, this.options.maxKeyGroups)], (id) => ({ type: 'query', id, pipe, kg, key }));
  }

  /**
   * Each actor's operator state for a pipeline (the lists its process function keeps with
   * `ctx.operatorList`), in actor order: `[{ name: items }, …]`.
   */
  async operatorState(pipeline: string): Promise<Array<Record<string, unknown[]>>> {
    const pipe = this.pipelines.findIndex((p) => p.name === this.pipelineName(pipeline));
    this.throwIfFailed();
    await this.recover();
    return Promise.all(this.workers.map((w) => this.ask(w, (id) => ({ type: 'operator-state', id, pipe })))) as Promise<Array<Record<string, unknown[]>>>;
  }

  /** A question to one actor over its MessagePort, answered between frames. */
  private ask(worker: Worker, command: (id: number) => ActorCommand): Promise<unknown> {
    const id = this.nextQuery++;
    const answer = new Promise<unknown>((resolve, reject) => this.queries.set(id, { resolve, reject }));
    worker.postMessage(command(id));
    return Promise.race([answer, this.failed]);
  }

  /**
   * Write a pipeline's results to an NDJSON file exactly once, across crashes and restarts (see
   * ExactlyOnceFileSink). Call before ingesting.
   */
  writeResultsTo(pipeline: string, path: string): void {
    this.addSink(this.resultSinks, pipeline, path);
  }

  /** Write a pipeline's late events to an NDJSON file exactly once, like writeResultsTo(). Call before ingesting. */
  writeLateTo(pipeline: string, path: string): void {
    this.addSink(this.lateSinks, pipeline, path);
  }

  /**
   * Fails with ERR_KEYFLOW_STATE_DIR if another process writes the file, or its commit record belongs to
   * another state directory; with ERR_KEYFLOW_OUTPUT if it cannot be opened.
   */
  private addSink(sinks: Array<ExactlyOnceFileSink | undefined>, pipeline: string, path: string): void {
    const pipe = this.pipelines.findIndex((p) => p.name === this.pipelineName(pipeline));
    if (sinks[pipe]) throw configError(`pipeline '${pipeline}' already writes that output to ${sinks[pipe].path}`);
    const sink = new ExactlyOnceFileSink(path, this.options.maxKeyGroups, this.sinkOwner, (err) => this.fail(err));
    sinks[pipe] = sink;
    this.sinks.push(sink);
  }

  /**
   * Re-apply what the WAL holds after the restored checkpoint. ingest(), checkpoint() and stop() do it
   * first if it has not been done; subscribe to outputs before, as replay re-emits results.
   */
  recover(): Promise<void> {
    this.recovered ??= new Promise<void>((resolve) => {
      for (const o of this.carried.splice(0)) this.deliver(o);
      this.onReplayed = resolve;
      for (const w of this.workers) w.postMessage({ type: 'replay' } satisfies ActorCommand);
    }).then(() => {
      // The router's watermark stays where the checkpoint left it, though the replayed WAL may hold later
      // events: a producer resends from the checkpoint, and its events must carry the watermark they
      // carried the first time, or an actor that had not logged them would now find them late.
      this.recoveryInfo = {
        checkpoint: this.recovery?.checkpoint?.id ?? null,
        replayedFrames: this.replayed.reduce((n, r) => n + r.frames, 0),
        tornBytes: this.replayed.reduce((n, r) => n + r.tornBytes, 0),
        ms: performance.now() - this.setupStartedAt,
      };
    });
    return this.recovered;
  }

  /**
   * Take a checkpoint: a barrier goes to every actor in band; each snapshots its key-groups and rotates
   * its WAL; once all have, the sinks commit and the manifest records it. Resolves when it is complete.
   */
  checkpoint(): Promise<CheckpointRecord> {
    return this.takeCheckpoint(false);
  }

  private takeCheckpoint(provisional: boolean): Promise<CheckpointRecord> {
    if (!this.options.stateDir) return Promise.reject(configError('checkpoint() needs a stateDir'));
    let completed!: Promise<CheckpointRecord>;
    const queued = this.tail.then(async () => {
      this.throwIfFailed();
      await this.recover();
      const id = this.nextCheckpoint++;
      completed = this.checkpoints.expect({
        id,
        workers: this.workers.length,
        eventTimes: this.router.largestEventTimes().map((times) => times.map(([src, t]): [string, number] => [this.sources.name(src), t])),
        sources: [...this.sources.positions],
      }, provisional);
      this.router.barrier(id);
      this.bytesAtCheckpoint = this.routedBytes();
      await this.pushAll();
    });
    this.tail = queued.catch(() => {});
    return queued.then(() => Promise.race([completed, this.failed.then((e) => Promise.reject(e))]));
  }

  /**
   * Route events (one, or an array) to their actors. Resolves when every frame holding them has been
   * accepted by its ring; a full ring makes it wait (backpressure). Calls are applied in call order.
   */
  ingest(events: unknown, options: IngestOptions = {}): Promise<void> {
    if (this.stopping) return Promise.reject(new KeyflowError(codes.STOPPED, 'ingest() after stop()'));
    const batch = Array.isArray(events) ? events : [events];
    const done = this.tail.then(() => this.route(batch, options));
    this.tail = done.catch(() => {});
    return done;
  }

  /**
   * Report input that never became an event (a line that is not JSON, say) on the errors output,
   * counted and handled by `onError` like any other bad event.
   */
  reportBadInput(bad: { detail: string; source: string; line: number; raw?: string; code?: ErrorCode }): void {
    const { id: src } = this.sources.id(bad.source, 'line');
    this.problem({ code: bad.code ?? codes.BAD_JSON, stage: 'parse', detail: bad.detail, ...(bad.raw === undefined ? {} : { raw: bad.raw }) }, -1, src, bad.line);
  }

  /**
   * End the engine at once, as a failure would: no drain, no windows fired at the end, no final
   * checkpoint. Outputs the actors had already released still reach the sinks (uncommitted); a later
   * start() on the same stateDir recovers from the last checkpoint. For error paths, where stop() would
   * checkpoint state whose outputs had nowhere to go.
   */
  async abort(): Promise<void> {
    this.fail(new KeyflowError(codes.STOPPED, 'the engine was aborted'));
    await this.stop().catch(() => {});
  }

  /**
   * What the calling thread is routing, as a SharedArrayBuffer that another thread can read while this
   * one is stuck in a pipeline's filter(), map(), keyBy() or eventTime() (they run here, inside ingest()):
   * wrap it in a RoutingActivity (routing-activity.ts) to read it. `keyflow run` watches it to end a run
   * stuck there; the engine itself never acts on it.
   */
  routingActivity(): SharedArrayBuffer {
    return this.routing.buffer;
  }

  /** Drain everything ingested, fire every remaining window (the watermark goes to +∞), end the actors. */
  stop(): Promise<EngineSummary> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async route(batch: unknown[], options: IngestOptions): Promise<void> {
    this.throwIfFailed();
    await this.recover();
    this.router.tick(Date.now());
    const { src, position } = this.positions(batch.length, options);
    const { source, kind } = this.sources.locate(src, 0);
    this.routing.busy(src, source, kind);
    try {
      for (let i = 0; i < batch.length; i++) {
        this.router.route(batch[i], src, position(i));
        if (i % PUSH_CHECK_EVERY === PUSH_CHECK_EVERY - 1) {
          this.routing.idle();
          this.throwIfFailed();
          await this.pushBacklog();
          this.routing.busy(src, source, kind);
        }
      }
    } finally {
      this.routing.idle();
    }
    this.eventsIn += batch.length;
    if (options.sourceId !== undefined && batch.length > 0) this.sources.positions.set(options.sourceId, position(batch.length - 1));
    this.router.broadcastWatermarks();
    this.router.sealAll();
    await this.pushAll();
    // Acknowledge only what every actor has made durable (with durability 'none': has received).
    await Promise.all(this.senders.map((s, a) => this.durable[a].reach(s.written, () => this.failure)));
    this.throwIfFailed();
    if (this.options.stateDir && this.routedBytes() - this.bytesAtCheckpoint >= this.options.snapshotEveryBytes) {
      this.bytesAtCheckpoint = this.routedBytes();
      this.checkpoint().catch(() => {});
    }
  }

  /**
   * A source may have gone idle since the last ingest(): send the watermark on if that moved it. Queued
   * behind ingest() calls, like them; never before recovery (ingest() starts it).
   */
  private advanceIdle(): void {
    if (this.stopping || this.failure || this.recoveryInfo === null) return;
    const moved = this.tail.then(async () => {
      this.router.tick(Date.now());
      this.router.broadcastWatermarks();
      this.router.sealAll();
      await this.pushAll();
    });
    this.tail = moved.catch(() => {});
  }

  /** The source id of an ingest() call, and the position of each of its events. */
  private positions(count: number, options: IngestOptions): { src: number; position: (i: number) => number } {
    const { lines, sourceId, seq } = options;
    if (lines !== undefined && lines.length !== count) throw configError(`ingest(): options.lines has ${lines.length} entries for ${count} events`);
    if (sourceId !== undefined) {
      if (lines === undefined && (seq === undefined || !Number.isInteger(seq) || seq < 0 || seq >= 2 ** 31)) {
        throw configError('ingest(): an exactly-once sourceId needs seq (an integer batch number, 0 to 2^31) or lines');
      }
      if (lines === undefined && count > BATCH_SPAN) throw configError(`ingest(): an exactly-once batch holds at most ${BATCH_SPAN} events`);
    }
    const name = sourceId ?? options.source ?? 'ingest';
    const kind: Location['kind'] = lines !== undefined ? 'line' : sourceId !== undefined ? 'batch' : 'ordinal';
    const { id, isNew } = this.sources.id(name, kind);
    if (isNew) this.router.announceSource(id, { name, tracked: sourceId !== undefined });
    if (lines !== undefined) return { src: id, position: (i) => lines[i] };
    if (sourceId !== undefined) return { src: id, position: (i) => seq! * BATCH_SPAN + i };
    const first = this.sources.take(id, count);
    return { src: id, position: (i) => first + i };
  }

  private routedBytes(): number {
    return this.senders.reduce((n, s) => n + s.bytes, 0);
  }

  /** Push frames already sealed (a builder filled up) without sealing partial ones. */
  private async pushBacklog(): Promise<void> {
    if (this.senders.some((s) => s.queued > 0)) await this.pushAll();
  }

  private async pushAll(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.push(() => this.failure)));
  }

  private dispatch(frame: FrameView): Promise<void> | void {
    const { kind, pipe, src, pos, kg, values } = frame;
    let behind = false;
    for (let i = 0; i < frame.count; i++) {
      switch (kind[i]) {
        case Kind.RESULT:
        case Kind.LATE:
        case Kind.ERROR:
          if (!this.deliver({ kind: kind[i], pipe: pipe[i], kg: kg[i], src: src[i], pos: pos[i], value: values[i] })) behind = true;
          break;
        case Kind.BARRIER_ACK:
          // A failed engine completes no checkpoint: its sinks may not hold what the barrier's state assumes.
          if (this.failure) break;
          // Completing a checkpoint writes the manifest and commits the sinks: a failure there ends the run.
          try {
            this.checkpoints.ack(pos[i], values[i] as SnapshotAck);
          } catch (err) {
            this.fail(err instanceof KeyflowError ? err : new KeyflowError(codes.FAILED, `checkpoint ${pos[i]} could not complete: ${describeThrown(err)}`, err));
          }
          break;
        case Kind.END:
          this.ended++;
          break;
      }
    }
    if (behind && !this.failure) return this.outputs.drained();
  }

  /**
   * Hand one output to its sink and stream; false when a reader is behind. A rescaling pre-run captures
   * its outputs instead (nobody has subscribed yet); the engine that follows delivers them.
   */
  private deliver(o: CarriedOutput): boolean {
    if (this.captured) {
      this.captured.push(o);
      return true;
    }
    const name = this.pipelines[o.pipe]?.name;
    switch (o.kind) {
      case Kind.RESULT:
        this.pipelineCounts[o.pipe].results++;
        if (this.resultSinks[o.pipe] !== undefined) this.toSink(this.resultSinks[o.pipe]!, o);
        return this.outputs.deliver(`results:${name}`, o.value);
      case Kind.LATE:
        this.pipelineCounts[o.pipe].late++;
        if (this.lateSinks[o.pipe] !== undefined) this.toSink(this.lateSinks[o.pipe]!, o);
        return this.outputs.deliver(`late:${name}`, o.value);
      default:
        this.problem(o.value as Problem, o.pipe, o.src, o.pos);
        return true;
    }
  }

  /** A record its file cannot hold (not JSON-writable) becomes a dead letter; the run goes on. */
  private toSink(sink: ExactlyOnceFileSink, o: CarriedOutput): void {
    const err = sink.write(o.kg, o.pos, o.value);
    if (err !== null) this.report(unwritable(this.pipelines[o.pipe].name, sink.path, o.pos, err), o.pipe);
  }

  private problem(p: Problem, pipe: number, src: number, pos: number): void {
    this.report(deadLetter(p, pipe < 0 ? undefined : this.pipelines[pipe].name, this.sources.locate(src, pos)), pipe);
  }

  /**
   * Count a dead letter and put it on the errors output. With onError 'fail', the first one fails the
   * engine; others already on their way (later records of the same batch or frame) are dropped.
   */
  private report(dl: DeadLetter, pipe: number): void {
    if (this.failure) return;
    if (pipe >= 0) this.pipelineCounts[pipe].errors++;
    else this.inputErrors++;
    this.outputs.deliver('errors', dl);
    if (this.options.onError === 'fail') {
      this.fail(new KeyflowError(codes.FAILED, `stopped at the first error (onError: 'fail'): ${dl.message}`, dl));
    }
  }

  /** A Node process warning, once per pipeline: it changes nothing, but it explains a stream gone late. */
  private warnFutureTime(pipe: number, src: number, pos: number, time: number): void {
    const days = Math.round((time - Date.now()) / 86_400_000);
    process.emitWarning(`pipeline '${this.pipelines[pipe].name}': the event at ${where(this.sources.locate(src, pos))} has event time `
      + `${new Date(time).toISOString()}, ${days.toLocaleString('en-US')} days ahead of the wall clock. The watermark follows the largest `
      + 'time seen, so later events with ordinary times will be late; fix or filter such events before eventTime().',
    { type: 'KeyflowWarning', code: 'KEYFLOW_FUTURE_EVENT_TIME' });
  }

  /** What an actor was doing, in words (for failures: its thread may be dead or stuck). */
  private whereabouts(actor: number): string {
    return whereabouts(actor, this.activities[actor].read(), { pipelineNames: this.pipelines.map((p) => p.name), locate: (src, pos) => this.sources.locate(src, pos) });
  }

  /**
   * The maxCallMs watchdog: samples each actor's activity slot, and fails the run when an actor has been
   * applying records for maxCallMs with no progress (a user function that never returns). Its thread is
   * then terminated, which interrupts even a busy loop.
   */
  private watchCalls(maxCallMs: number): NodeJS.Timeout {
    const seen = this.activities.map(() => ({ progress: -1, since: 0 }));
    return setInterval(() => {
      const now = performance.now();
      this.activities.forEach((activity, actor) => {
        const last = seen[actor];
        const progress = activity.progress;
        if (!activity.busy || progress !== last.progress) {
          last.progress = progress;
          last.since = now;
        } else if (now - last.since >= maxCallMs) {
          this.fail(new KeyflowError(codes.CALL_TIMEOUT, `a call ran for more than maxCallMs (${maxCallMs} ms) without progress; ${this.whereabouts(actor)}. `
            + 'The actors were stopped. A user function that never returns? If such a call is legitimately slow, raise maxCallMs (--max-call-ms), or set it to 0 for no limit'));
        }
      });
    }, Math.min(1000, Math.max(5, maxCallMs / 4))).unref();
  }

  private onActorMessage(m: ActorMessage): void {
    if (m.type === 'query-result') {
      const q = this.queries.get(m.id);
      this.queries.delete(m.id);
      if (m.error !== undefined) q?.reject(new KeyflowError(codes.USER_FUNCTION, `query(): ${m.error}`));
      else q?.resolve(m.value);
    } else if (m.type === 'replayed') {
      this.replayed.push(m);
      if (this.replayed.length === this.workers.length) this.onReplayed?.();
    } else if (m.type === 'fatal') {
      this.fail(new KeyflowError(m.code === codes.CORRUPT ? codes.CORRUPT : codes.STATE_DIR, m.message));
    }
  }

  private fail(err: KeyflowError): void {
    if (this.failure) return;
    this.failed.catch(() => {});
    this.rejectFailed(err);
    this.failure = err;
    this.onReplayed?.();
    this.failing = this.windDown();
  }

  /**
   * Stop the actors, then hand on the outputs they had already released (released only once their input
   * was durable, so they are final) before ending the output streams. Bounded: with the actors stopped,
   * the output rings hold all there is.
   */
  private async windDown(): Promise<void> {
    this.pump.stop();
    await this.terminateWorkers();
    await this.pumping.catch(() => {});
    this.pump.drain();
    this.outputs.endAll();
    // Nothing more reaches the sinks: let the files and the state directory go (a new engine may take them).
    for (const s of this.sinks) s.close();
    this.lock?.release();
  }

  private terminateWorkers(): Promise<unknown> {
    // The watchdog runs until here: an actor can get stuck while the engine stops, too.
    if (this.watchdog) clearInterval(this.watchdog);
    this.terminating = true;
    return Promise.all(this.workers.map((w) => w.terminate())).finally(this.cleanup);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private clearTimers(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.idleTimer) clearInterval(this.idleTimer);
  }

  private async shutdown(): Promise<EngineSummary> {
    this.clearTimers();
    await this.tail;
    if (!this.failure) {
      // A final checkpoint before the end marker: what a later run on this stateDir resumes from.
      if (this.options.stateDir) await this.checkpoint().catch(() => {});
      else await this.recover();
      this.router.end();
      this.router.sealAll();
      await this.pushAll().catch(() => {});
      await this.pumping;
    }
    if (this.failing) await this.failing;
    try {
      for (const s of this.sinks) s.close();
      await this.terminateWorkers();
      this.outputs.endAll();
    } finally {
      this.lock?.release();
    }
    this.throwIfFailed();
    const elapsedMs = performance.now() - this.startedAt;
    return { ...this.stats(), elapsedMs, eventsPerSecond: this.eventsIn / (elapsedMs / 1000), checkpoints: this.checkpointStats() };
  }

  /**
   * How a run that only recovers state under the old worker count hands it over to the new one: replay,
   * snapshot every key-group, end the actors without the end marker (windows stay open). The checkpoint
   * is provisional — not in the manifest — because its outputs reach the sinks only through the next
   * engine; until that engine completes a checkpoint of its own, a restart repeats this from the start.
   */
  async checkpointAndClose(): Promise<{ checkpoint: CheckpointRecord; outputs: CarriedOutput[] }> {
    this.clearTimers();
    this.captured = [];
    const checkpoint = await this.takeCheckpoint(true);
    this.pump.stop();
    await this.terminateWorkers();
    this.outputs.endAll();
    return { checkpoint, outputs: this.captured };
  }

  private pipelineName(name: string): string {
    if (!this.pipelines.some((p) => p.name === name)) {
      throw new KeyflowError(codes.UNKNOWN_PIPELINE, `unknown pipeline '${name}'; this engine runs: ${this.pipelines.map((p) => `'${p.name}'`).join(', ')}`);
    }
    return name;
  }
}
