/**
 * The calling thread's side of ingest(): every call, checkpoint barrier and idle-watermark step is queued
 * behind the ones before it, so they reach the actors in call order. Each batch runs through the router
 * (the pipelines' stateless functions, then one ring per actor), and its promise resolves once every
 * actor has made it durable; the batches after it are routed meanwhile.
 */
import type { ActorSet } from './actor-set.js';
import type { ChunkInput, ChunkResult } from '../shared/chunk-protocol.js';
import { combiningHolds, stampChunkFrame } from './chunk-admission.js';
import { BATCH_SPAN, type Location } from '../shared/dead-letter.js';
import { KeyflowError, codes, configError, type ErrorCode } from '../shared/errors.js';
import type { Failure } from './failure.js';
import { reportedElsewhere } from '../shared/ignore.js';
import type { RouteProblem, Router } from '../shared/router.js';
import type { RoutingActivity } from '../shared/routing-activity.js';
import type { SourceRegistry } from './sources/registry.js';

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

/** Check the events between ring pushes this often, so a full ring pauses routing early. */
const PUSH_CHECK_EVERY = 256;

export class Ingestion {
  eventsIn = 0;
  private tail: Promise<void> = Promise.resolve();
  /** The last ingest() call's acknowledgement (settled either way): the next call settles after it. */
  private acknowledged: Promise<void> = Promise.resolve();
  /** Set by end(): nothing more goes to the actors. */
  private ended = false;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly router: Router, private readonly actors: ActorSet, private readonly sources: SourceRegistry,
              private readonly routing: RoutingActivity, private readonly failure: Failure,
              /** Where events that cannot be routed go (the dead letters). */
              private readonly report: RouteProblem,
              /** Runs before the first batch is routed (recovery). */
              private readonly before: () => Promise<void>,
              /** Runs after each batch is durable (a checkpoint may be due). */
              private readonly after: () => void) {}

  /** Run `work` after everything queued so far; a failure does not hold up what comes after it. */
  enqueue<T>(work: () => Promise<T>): Promise<T> {
    const done = this.tail.then(work);
    this.tail = done.then(() => undefined, reportedElsewhere);
    return done;
  }

  /**
   * With idle sources: every `everyMs`, re-judge idleness while no input comes (when `may()`), so the
   * watermark can move on. Queued behind ingest() calls, like them.
   */
  watchIdle(everyMs: number, may: () => boolean): void {
    this.idleTimer = setInterval(() => {
      if (may()) this.enqueue(() => this.flush()).catch(reportedElsewhere);
    }, everyMs).unref();
  }

  stop(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
  }

  /** Resolves once everything queued so far has run, and every ingest() call so far has settled. */
  settled(): Promise<void> {
    return this.tail.then(() => this.acknowledged);
  }

  /**
   * Routed behind everything queued before it; resolves once every actor has made durable (with
   * durability 'none': has received) all it was sent up to the end of this batch, and settles after the
   * calls before it. The next call's routing does not wait for this one's group commit: a producer that
   * keeps calls in flight has its next batch routed meanwhile.
   */
  ingest(batch: unknown[], options: IngestOptions): Promise<void> {
    const routed = this.enqueue(() => this.route(batch, options));
    const before = this.acknowledged;
    const done = (async () => {
      let sent: number[];
      // Settled after the call before it, resolved or rejected: a producer may commit its own position as
      // each call resolves, and must never see an older one after a newer. One call waits on the actors'
      // counts at a time.
      try {
        sent = await routed;
      } finally {
        await before;
      }
      await this.actors.durable(sent);
      this.failure.throwIfFailed();
      this.after();
    })();
    this.acknowledged = done.then(() => undefined, reportedElsewhere);
    return done;
  }

  /** Send watermarks on (a source may have gone idle) and seal and push every partial frame. */
  async flush(): Promise<void> {
    this.router.tick(Date.now());
    this.router.broadcastWatermarks();
    this.router.sealAll();
    await this.actors.pushAll();
  }

  /** A line of a source that never became an event (not JSON, not UTF-8): a dead letter. */
  reportBadLine(bad: { detail: string; line: number; raw?: string; code?: ErrorCode }, source: string): void {
    const { id: src } = this.sources.id(source, 'line');
    this.report({ code: bad.code ?? codes.BAD_JSON, stage: 'parse', detail: bad.detail, ...(bad.raw === undefined ? {} : { raw: bad.raw }) }, -1, src, bad.line);
  }

  /** The id of a line source (a parallel source's), announced to the actors in order with the events. */
  lineSource(name: string, tracked: boolean): Promise<number> {
    return this.enqueue(async () => {
      this.throwIfClosed();
      await this.before();
      const { id, isNew } = this.sources.id(name, 'line');
      if (isNew) this.router.announceSource(id, { name, tracked });
      return id;
    });
  }

  /**
   * Take a parallel source's chunk in, queued like ingest(): its bad lines and the events no pipeline
   * could route become dead letters; its frames get their input lines and watermarks (see
   * chunk-admission.ts) and follow what is already on its way to each actor. `lineOffset`: the lines of
   * the input before the chunk.
   */
  admitChunk(routed: ChunkResult, src: number, lineOffset: number, sourceId: string | undefined, reroute: (input: ChunkInput) => Promise<ChunkResult>): Promise<void> {
    return this.enqueue(async () => {
      this.throwIfClosed();
      await this.before();
      this.router.tick(Date.now());
      const basis = this.router.watermarkBasis(src);
      const chunk = combiningHolds(routed.due, basis, this.router.recoveredWatermarks()) ? routed : await reroute(routed.input!);
      this.reportChunkProblems(chunk, src, lineOffset);
      for (const f of chunk.future) this.router.warnFuture(f.pipe, src, lineOffset + f.line, f.time);
      this.router.sealAll();
      for (const link of this.actors.links) {
        const frames = chunk.frames[link.actor];
        for (const frame of frames) stampChunkFrame(frame, basis, lineOffset);
        link.sender.enqueue(frames);
      }
      this.router.observeChunk(src, chunk.largest);
      this.eventsIn += chunk.events;
      if (sourceId !== undefined && chunk.lines > 0) this.sources.positions.set(sourceId, lineOffset + chunk.lines);
      this.router.broadcastWatermarks();
      this.router.sealAll();
      await this.actors.pushAll();
      this.failure.throwIfFailed();
      this.after();
    });
  }

  /** A chunk's bad lines and the events no pipeline could route, as dead letters in line order (the first is the one onError 'fail' names). */
  private reportChunkProblems(chunk: ChunkResult, src: number, lineOffset: number): void {
    const { bad, problems } = chunk;
    for (let b = 0, p = 0; b < bad.length || p < problems.length;) {
      if (p === problems.length || (b < bad.length && bad[b].line < problems[p].line)) {
        const { code, detail, raw, line } = bad[b++];
        this.report({ code, stage: 'parse', detail, raw }, -1, src, lineOffset + line);
      } else {
        const { problem, pipe, line } = problems[p++];
        this.report(problem, pipe, src, lineOffset + line);
      }
    }
  }

  private throwIfClosed(): void {
    this.failure.throwIfFailed();
    if (this.ended) throw new KeyflowError(codes.STOPPED, 'the engine has stopped: it takes no more input');
  }

  /** Resolves once every actor has made durable all it was sent before this call. */
  durable(): Promise<void> {
    return this.enqueue(() => this.actors.durable());
  }

  /** The end marker to every actor, after everything queued: they fire every window and end. */
  async end(): Promise<void> {
    this.ended = true;
    this.router.end();
    this.router.sealAll();
    await this.actors.pushAll().catch(reportedElsewhere);
  }

  /** Route a batch into the actors' rings: what each actor has been sent by its end. */
  private async route(batch: unknown[], options: IngestOptions): Promise<number[]> {
    this.throwIfClosed();
    await this.before();
    this.router.tick(Date.now());
    const { src, position } = this.positions(batch.length, options);
    const { source, kind } = this.sources.locate(src, 0);
    this.routing.busy(src, source, kind);
    try {
      for (let i = 0; i < batch.length; i++) {
        this.router.route(batch[i], src, position(i));
        if (i % PUSH_CHECK_EVERY === PUSH_CHECK_EVERY - 1) {
          this.routing.idle();
          this.failure.throwIfFailed();
          await this.actors.pushBacklog();
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
    await this.actors.pushAll();
    return this.actors.sent();
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
}
