import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import type { ActorInit, ActorMessage } from './actor-init.js';
import type { FrameView } from './codec/frame.js';
import { FrameSender } from './codec/frame-sender.js';
import { END, ERROR, LATE, RESULT } from './codec/records.js';
import { deadLetter, type DeadLetter, type Problem } from './dead-letter.js';
import { KeyflowError, codes, configError, type ErrorCode } from './errors.js';
import { resolveOptions, type ResolvedOptions, type StartOptions } from './options.js';
import { OutputPump } from './output-pump.js';
import { Outputs, type OutputStream } from './outputs.js';
import { isPipeline, type Pipeline } from './pipeline.js';
import { importPipelines } from './pipeline-loader.js';
import { Doorbell } from './ring/doorbell.js';
import { createRing } from './ring/layout.js';
import { RingReader } from './ring/reader.js';
import { RingWriter } from './ring/writer.js';
import { Router } from './router.js';
import { SourceRegistry } from './sources/registry.js';

export interface IngestOptions {
  /** Where these events come from, for error reports (default 'ingest'). */
  source?: string;
  /** Line numbers of the events in their source, one per event, for error reports. */
  lines?: number[];
}

export interface EngineStats {
  events: number;
  results: number;
  late: number;
  errors: number;
}

export interface EngineSummary extends EngineStats {
  elapsedMs: number;
  eventsPerSecond: number;
}

/** Check the events between ring pushes this often, so a full ring pauses routing early. */
const PUSH_CHECK_EVERY = 256;

const ACTOR_URL = new URL('../workers/actor.js', import.meta.url);

/**
 * A running keyflow engine: the router and output pump on the calling thread, one actor per worker
 * thread. Create it with `start()`.
 */
export class Engine {
  private readonly counts: EngineStats = { events: 0, results: 0, late: 0, errors: 0 };
  private readonly sources = new SourceRegistry();
  private readonly outputs = new Outputs();
  private readonly senders: FrameSender[];
  private readonly router: Router;
  private readonly pump: OutputPump;
  private readonly pumping: Promise<void>;
  private readonly startedAt = performance.now();
  private tail: Promise<void> = Promise.resolve();
  private ended = 0;
  private failure: KeyflowError | null = null;
  /** Set once the engine ends its workers itself; any exit before that is a crash. */
  private terminating = false;
  private stopping: Promise<EngineSummary> | null = null;

  /** @internal use start() */
  constructor(readonly pipelines: readonly Pipeline[], private readonly options: ResolvedOptions, private readonly workers: Worker[],
              inputs: ActorInit['input'][], outputs: ActorInit['output'][], doorbell: Doorbell) {
    this.senders = inputs.map((ring) => new FrameSender(new RingWriter(ring), options.frameRecords));
    this.router = new Router([...pipelines], this.senders, options.maxKeyGroups, (p, pipe, src, pos) => this.problem(p, pipe, src, pos));
    this.pump = new OutputPump(outputs.map((r) => new RingReader(r)), doorbell, (f) => this.dispatch(f), () => this.ended === workers.length);
    this.pumping = this.pump.run();
    for (const w of workers) {
      w.on('error', (err) => this.fail(new KeyflowError(codes.WORKER, `an actor thread crashed: ${err.message}`, err)));
      w.on('exit', (code) => {
        if (!this.terminating) this.fail(new KeyflowError(codes.WORKER, `an actor thread exited unexpectedly (code ${code})`));
      });
    }
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
    return { ...this.counts };
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
    const src = this.sources.id(bad.source, true);
    this.problem({ code: bad.code ?? codes.BAD_JSON, stage: 'parse', detail: bad.detail, ...(bad.raw === undefined ? {} : { raw: bad.raw }) }, -1, src, bad.line);
  }

  /** Drain everything ingested, fire every remaining window (the watermark goes to +∞), end the actors. */
  stop(): Promise<EngineSummary> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async route(batch: unknown[], options: IngestOptions): Promise<void> {
    this.throwIfFailed();
    const lines = options.lines;
    if (lines !== undefined && lines.length !== batch.length) {
      throw configError(`ingest(): options.lines has ${lines.length} entries for ${batch.length} events`);
    }
    const src = this.sources.id(options.source ?? 'ingest', lines !== undefined);
    const first = lines === undefined ? this.sources.take(src, batch.length) : 0;
    for (let i = 0; i < batch.length; i++) {
      this.router.route(batch[i], src, lines === undefined ? first + i : lines[i]);
      if (i % PUSH_CHECK_EVERY === PUSH_CHECK_EVERY - 1) {
        this.throwIfFailed();
        await this.pushBacklog();
      }
    }
    this.counts.events += batch.length;
    this.router.broadcastWatermarks();
    this.router.sealAll();
    await this.pushAll();
    this.throwIfFailed();
  }

  /** Push frames already sealed (a builder filled up) without sealing partial ones. */
  private async pushBacklog(): Promise<void> {
    if (this.senders.some((s) => s.queued > 0)) await this.pushAll();
  }

  private async pushAll(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.push(() => this.failure)));
  }

  private dispatch(frame: FrameView): Promise<void> | void {
    const { kind, pipe, src, pos, values } = frame;
    let behind = false;
    for (let i = 0; i < frame.count; i++) {
      switch (kind[i]) {
        case RESULT:
          this.counts.results++;
          if (!this.outputs.deliver(`results:${this.pipelines[pipe[i]].name}`, values[i])) behind = true;
          break;
        case LATE:
          this.counts.late++;
          if (!this.outputs.deliver(`late:${this.pipelines[pipe[i]].name}`, values[i])) behind = true;
          break;
        case ERROR:
          this.problem(values[i] as Problem, pipe[i], src[i], pos[i]);
          break;
        case END:
          this.ended++;
          break;
      }
    }
    if (behind && !this.failure) return this.outputs.drained();
  }

  private problem(p: Problem, pipe: number, src: number, pos: number): void {
    const dl = deadLetter(p, pipe < 0 ? undefined : this.pipelines[pipe].name, this.sources.locate(src, pos));
    this.counts.errors++;
    this.outputs.deliver('errors', dl);
    if (this.options.onError === 'fail') {
      this.fail(new KeyflowError(codes.FAILED, `stopped at the first error (onError: 'fail'): ${dl.message}`, dl));
    }
  }

  private fail(err: KeyflowError): void {
    if (this.failure) return;
    this.failure = err;
    this.pump.stop();
    this.terminateWorkers();
    this.outputs.endAll();
  }

  private terminateWorkers(): Promise<unknown> {
    this.terminating = true;
    return Promise.all(this.workers.map((w) => w.terminate()));
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private async shutdown(): Promise<EngineSummary> {
    await this.tail;
    if (!this.failure) {
      this.router.end();
      this.router.sealAll();
      await this.pushAll().catch(() => {});
      await this.pumping;
    }
    await this.terminateWorkers();
    this.outputs.endAll();
    this.throwIfFailed();
    const elapsedMs = performance.now() - this.startedAt;
    return { ...this.counts, elapsedMs, eventsPerSecond: this.counts.events / (elapsedMs / 1000) };
  }

  private pipelineName(name: string): string {
    if (!this.pipelines.some((p) => p.name === name)) {
      throw new KeyflowError(codes.UNKNOWN_PIPELINE, `unknown pipeline '${name}'; this engine runs: ${this.pipelines.map((p) => `'${p.name}'`).join(', ')}`);
    }
    return name;
  }
}

function moduleUrlOf(m: string | URL): string {
  const s = String(m);
  return /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:\\/i.test(s) ? s : pathToFileURL(resolvePath(s)).href;
}

async function resolvePipelines(options: StartOptions): Promise<Pipeline[]> {
  const moduleUrl = options.module === undefined ? undefined : moduleUrlOf(options.module);
  const exported = moduleUrl === undefined ? [] : await importPipelines(moduleUrl);
  const wanted = options.pipelines ?? exported;
  if (!Array.isArray(wanted) || wanted.length === 0) {
    throw configError(moduleUrl ? `module ${moduleUrl} exports no pipelines` : 'start() needs pipelines: [pipeline(...), …] or a module that exports them');
  }
  const pipelines = wanted.map((p) => {
    if (isPipeline(p)) return p;
    if (typeof p === 'string') {
      const found = exported.find((e) => e.name === p);
      if (found) return found;
      const known = exported.map((e) => `'${e.name}'`).join(', ') || 'none';
      throw new KeyflowError(codes.UNKNOWN_PIPELINE, moduleUrl
        ? `unknown pipeline '${p}': ${moduleUrl} exports ${known}`
        : `unknown pipeline '${p}': to name pipelines, also pass module: the module that exports them`);
    }
    throw configError(`pipelines must hold pipeline(...) objects or names, got ${typeof p}`);
  });
  const problems: string[] = [];
  const names = new Set<string>();
  for (const p of pipelines) {
    if (names.has(p.name)) problems.push(`two pipelines are named '${p.name}'`);
    names.add(p.name);
    problems.push(...p.problems());
    if (!p.moduleUrl && !moduleUrl) problems.push(`pipeline '${p.name}': cannot tell which module defines it; use pipeline('${p.name}', { module: import.meta.url })`);
  }
  if (pipelines.length > 255) problems.push(`at most 255 pipelines per engine, got ${pipelines.length}`);
  if (problems.length > 0) throw configError(`invalid pipelines:\n  - ${problems.join('\n  - ')}`);
  return pipelines;
}

function spawnActor(init: ActorInit): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(ACTOR_URL, { workerData: init });
    const onError = (err: Error) => reject(new KeyflowError(codes.WORKER, `actor ${init.actor} failed to start: ${err.message}`, err));
    worker.once('error', onError);
    worker.once('message', (m: ActorMessage) => {
      worker.off('error', onError);
      if (m.type === 'ready') resolve(worker);
      else {
        void worker.terminate();
        reject(new KeyflowError(codes.PIPELINE_MODULE, m.message));
      }
    });
  });
}

/** Start an engine: validate the configuration, start one actor per worker thread, and return it. */
export async function start(options: StartOptions): Promise<Engine> {
  if (!isMainThread && (workerData as Partial<ActorInit> | undefined)?.keyflowActor) {
    throw configError('start() was called inside a keyflow actor thread: the module that defines your pipelines calls start() when a worker imports it. Keep pipelines in a module of their own.');
  }
  if (typeof options !== 'object' || options === null) throw configError('start() needs an options object');
  const resolved = resolveOptions(options);
  const pipelines = await resolvePipelines(options);
  const fallbackUrl = options.module === undefined ? undefined : moduleUrlOf(options.module);
  const doorbell = new Doorbell();
  const inputs = Array.from({ length: resolved.workers }, () => createRing(resolved.ringBytes));
  const outputs = Array.from({ length: resolved.workers }, () => createRing(resolved.ringBytes));
  const settled = await Promise.allSettled(inputs.map((input, actor) => spawnActor({
    keyflowActor: true,
    actor,
    workers: resolved.workers,
    maxKeyGroups: resolved.maxKeyGroups,
    pipelines: pipelines.map((p) => ({ name: p.name, moduleUrl: (p.moduleUrl ?? fallbackUrl)! })),
    input,
    output: outputs[actor],
    doorbell: doorbell.buffer,
    frameRecords: resolved.frameRecords,
    failFast: resolved.onError === 'fail',
  })));
  const workers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw failed.reason;
  }
  return new Engine(pipelines, resolved, workers, inputs, outputs, doorbell);
}
