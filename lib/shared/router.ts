import type { FrameSealer, Unsendable } from './codec/frame-sender.js';
import type { SourceInfo } from './codec/records.js';
import { unsendableProblem, type Problem, type Stage } from './dead-letter.js';
import { codes, describeThrown } from './errors.js';
import { actorOf, type StateKey } from './keygroups.js';
import { checkKey } from './key-check.js';
import { FILTERED, StepFailure, runSteps } from './stateless-steps.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { RoutingActivity } from './routing-activity.js';
import { SourceWatermarks } from './time/source-watermarks.js';
import { MAX_EVENT_TIME, toEventTime } from './time/watermarks.js';
import { WindowCombiner } from './window-combiner.js';
import { LEFT, RIGHT } from '../pipeline/join-input.js';

/**
 * One input of a pipeline: its stateless chain, key and event time. A pipeline has one; a join two, whose
 * events reach the actor tagged with their input (a JoinInput).
 */
interface Side {
  stages: Pipeline['stages'];
  keySelector: Pipeline['keySelector'];
  timeSelector: Pipeline['timeSelector'];
  /** The JoinInput tag, or -1: the event goes as itself. */
  tag: -1 | typeof LEFT | typeof RIGHT;
  /** Put before what a dead letter says went wrong ('' for the pipeline's own input). */
  label: string;
}

interface Route {
  index: number;
  pipeline: Pipeline;
  sides: Side[];
  watermarks: SourceWatermarks | null;
  broadcast: number;
  /** From the restored checkpoint: source name → largest event time, taken up when the source returns. */
  restored: Map<string, number>;
  /** Whether this pipeline has already warned of an event time far ahead of the wall clock. */
  warnedFuture: boolean;
  /** Stamping largest times (a pool thread's chunk): the largest event time routed so far. */
  largest: number;
  /** Sends a window pane's events as one record of their inputs, where the pipeline qualifies (see window-combiner.ts). */
  combiner: WindowCombiner | null;
  /** The highest watermark an actor held for this pipeline after recovery (see recoveredTo). */
  actorsAt: number;
}

/** How one pipeline's watermark moves within a chunk of one source (null: the pipeline has no event time). */
export type WatermarkBasis = { outOfOrderMs: number; watermark: number; largest: number; others: number } | null;

/** How the router reports an event it cannot route: (problem, pipeline index, src, pos). */
export type RouteProblem = (problem: Problem, pipe: number, src: number, pos: number) => void;

/** How the router reports an event time far ahead of the wall clock: (pipeline index, src, pos, time). */
export type FutureTime = (pipe: number, src: number, pos: number, time: number) => void;

/**
 * An event time this far past the wall clock is reported (once per pipeline): the watermark follows the
 * largest time seen, so after one such event every ordinary event would be late.
 */
export const FUTURE_TIME_WARNING_MS = 24 * 3600_000;

/**
 * The stateless half of every pipeline: runs the stateless chain (filter/map), extracts key and event
 * time, and appends the event to the frame of the actor owning its key-group, stamped with the
 * pipeline's watermark as it stood just before this event. Watermarks advance in source order, so
 * every actor sees the same watermark at the same point of the input whatever the worker count.
 *
 * It runs on the calling thread for ingest(), and on pool threads for a parallel source's chunks
 * (`stampLargest`): there it cannot know the watermark, which depends on every chunk before, so it
 * stamps each event with the largest event time before it in the chunk instead, and the calling thread
 * turns that into the watermark when it takes the chunk in (see chunk-admission.ts).
 */
export class Router {
  private readonly routes: Route[];
  /** The routes of pipelines (stages) that read the sources: a later stage's input comes from the actors. */
  private readonly sourced: Route[];
  private readonly owner: Int32Array;
  private roundRobin = 0;
  /** Event times above this are far in the future (see FUTURE_TIME_WARNING_MS); set by tick(). */
  private futureFrom = Infinity;

  /** Several pipelines: the activity slots say which one runs (with one, it is set once, here). */
  private readonly several: boolean;
  /** Source ids whose positions are exactly-once (their events are never combined: see window-combiner.ts). */
  private readonly tracked = new Set<number>();
  /** Stamping largest times: whether this chunk's events may be combined (its source is not exactly-once). */
  private chunkCombines = false;

  constructor(pipelines: Pipeline[], private readonly senders: FrameSealer[], private readonly maxKeyGroups: number,
              private readonly report: RouteProblem, private readonly futureTime: FutureTime,
              private activity: RoutingActivity, private readonly stampLargest = false) {
    this.routes = pipelines.map((pipeline, index) => ({
      index,
      pipeline,
      sides: sidesOf(pipeline),
      watermarks: pipeline.timeSelector ? new SourceWatermarks(pipeline.outOfOrderMs, pipeline.idleAfterMs) : null,
      broadcast: -Infinity,
      restored: new Map(),
      warnedFuture: false,
      largest: -Infinity,
      combiner: pipeline.upstream === null ? WindowCombiner.for(pipeline, senders.length, senders[0]?.maxFrame ?? Infinity) : null,
      actorsAt: -Infinity,
    }));
    this.sourced = this.routes.filter((r) => r.pipeline.upstream === null);
    this.owner = new Int32Array(maxKeyGroups);
    for (let kg = 0; kg < maxKeyGroups; kg++) this.owner[kg] = actorOf(kg, senders.length, maxKeyGroups);
    this.several = this.sourced.length > 1;
    activity.pipeline(0);
  }

  /** Run every pipeline's stateless functions on one event and append it to its actor's frame. */
  route(event: unknown, src: number, pos: number): void {
    // Where a user function that never returns is stuck: one store per event (see routing-activity.ts).
    this.activity.event(pos);
    for (const r of this.sourced) {
      if (this.several) this.activity.pipeline(r.index);
      this.routeOne(r, event, src, pos);
    }
  }

  /** Record what is routed in these slots from now on (a pool thread: one set of slots per chunk). */
  watchedBy(activity: RoutingActivity): void {
    this.activity = activity;
    activity.pipeline(0);
  }

  /** Send each pipeline's watermark to every actor if it moved since the last broadcast. */
  broadcastWatermarks(): void {
    for (const r of this.routes) {
      if (r.watermarks === null) continue;
      const wm = r.watermarks.current();
      if (wm <= r.broadcast) continue;
      r.broadcast = wm;
      this.senders.forEach((s, actor) => {
        s.builder.watermark(r.index, wm);
        this.sealIfFull(actor);
      });
    }
  }

  /**
   * After recovery: each pipeline's highest watermark an actor holds (restored, then moved on by its WAL),
   * which can be past the router's own (see replay.ts). A window pane is combined only below it.
   */
  recoveredTo(watermarks: readonly number[]): void {
    this.routes.forEach((r, i) => (r.actorsAt = watermarks[i] ?? -Infinity));
  }

  /** Per pipeline, the highest watermark an actor held after recovery (-Infinity if none). */
  recoveredWatermarks(): number[] {
    return this.routes.map((r) => r.actorsAt);
  }

  /** Tell every actor what a source id means, before any event uses it (it is logged with the events). */
  announceSource(src: number, info: SourceInfo): void {
    for (const r of this.routes) {
      const largest = r.restored.get(info.name);
      if (largest !== undefined) r.watermarks?.resume(src, largest);
    }
    if (info.tracked) this.tracked.add(src);
    this.senders.forEach((s, actor) => {
      s.builder.source(src, info);
      this.sealIfFull(actor);
    });
  }

  /** The wall clock by which sources are judged idle (see SourceWatermarks). */
  tick(now: number): void {
    this.futureFrom = now + FUTURE_TIME_WARNING_MS;
    for (const r of this.routes) r.watermarks?.tick(now);
  }

  /** The shortest idleAfterMs of any pipeline, or null if no source ever goes idle. */
  idleAfterMs(): number | null {
    const all = this.routes.map((r) => r.pipeline.idleAfterMs).filter((ms): ms is number => ms !== null);
    return all.length > 0 ? Math.min(...all) : null;
  }

  /**
   * A checkpoint barrier, in a frame of its own, after the current watermarks: so every actor holds the
   * same watermarks when it snapshots, and WAL segments split cleanly at it.
   */
  barrier(checkpoint: number): void {
    this.sealAll();
    for (const r of this.routes) r.broadcast = -Infinity;
    this.broadcastWatermarks();
    this.senders.forEach((s, actor) => {
      s.builder.barrier(checkpoint);
      this.sealIfFull(actor);
    });
    this.sealAll();
  }

  /** An event time far ahead of the wall clock (see FUTURE_TIME_WARNING_MS): reported once per pipeline. */
  warnFuture(pipe: number, src: number, pos: number, time: number): void {
    const r = this.routes[pipe];
    if (r.warnedFuture) return;
    r.warnedFuture = true;
    this.futureTime(pipe, src, pos, time);
  }

  /**
   * Stamping largest times: a new chunk starts, with nothing routed yet. Unkeyed events are spread over
   * the key-groups from the first again, so where they go depends on the chunk alone, not on which pool
   * thread routed which chunks before. `combine`: its source is not exactly-once (see window-combiner.ts).
   */
  beginChunk(combine: boolean): void {
    this.roundRobin = 0;
    this.chunkCombines = combine;
    for (const r of this.routes) {
      r.largest = -Infinity;
      r.combiner?.resetDue();
    }
  }

  /**
   * Stamping largest times: per pipeline, the least (earliest window end − 1) of the window panes this
   * chunk combined (Infinity if none). Combining was exact only if every event of the chunk gets a
   * watermark below it (see chunk-admission.ts).
   */
  combinedDue(): number[] {
    return this.routes.map((r) => r.combiner?.due ?? Infinity);
  }

  /** Stamping largest times: per pipeline, the largest event time routed in this chunk (-Infinity if none). */
  largestTimes(): number[] {
    return this.routes.map((r) => r.largest);
  }

  /**
   * What a chunk's events need to get their watermarks (see chunk-admission.ts), per pipeline: the
   * watermark now, the largest time `src` has shown, and the least of the other sources that hold the
   * watermark back. Call after tick().
   */
  watermarkBasis(src: number): WatermarkBasis[] {
    return this.routes.map((r) => (r.watermarks === null ? null : { outOfOrderMs: r.pipeline.outOfOrderMs, ...r.watermarks.basis(src) }));
  }

  /** A chunk's events are in: each pipeline's sources saw `src` up to `largest[pipe]`. */
  observeChunk(src: number, largest: readonly number[]): void {
    this.routes.forEach((r, i) => {
      if (r.watermarks !== null && largest[i] > -Infinity) r.watermarks.observe(src, largest[i]);
    });
  }

  /** Each pipeline's watermark now (-Infinity for pipelines without event time). */
  watermarks(): number[] {
    return this.routes.map((r) => r.watermarks?.current() ?? -Infinity);
  }

  /** Per pipeline, the largest event time seen per source id (empty for pipelines without event time). */
  largestEventTimes(): Array<Array<[number, number]>> {
    return this.routes.map((r) => r.watermarks?.largest() ?? []);
  }

  /** Resume the watermarks after recovery: per pipeline, source name → largest event time. */
  restoreEventTimes(times: Array<Array<[string, number]>>): void {
    this.routes.forEach((r, i) => {
      r.restored = new Map(times[i] ?? []);
      r.watermarks?.restore([...r.restored.values()]);
    });
  }

  end(): void {
    this.senders.forEach((s, actor) => {
      s.builder.end();
      this.sealIfFull(actor);
    });
  }

  /** Seal every partly filled frame, so it can be pushed. */
  sealAll(): void {
    for (let actor = 0; actor < this.senders.length; actor++) this.seal(actor);
  }

  /** After appending a record: seal the frame once the builder is full, so it can be pushed. */
  private sealIfFull(actor: number): void {
    if (this.senders[actor].builder.full) this.seal(actor);
  }

  /** Seal the frame for `actor`, which completes the window panes combined in it. */
  private seal(actor: number): void {
    this.senders[actor].seal(this.unsendable);
    for (const r of this.routes) r.combiner?.close(actor);
  }

  /** An event no frame can carry: a dead letter (it is left out; the rest of its frame goes on). */
  private readonly unsendable = (u: Unsendable): void => {
    this.report({ ...unsendableProblem(u, 'the event', 'route'), key: u.key, event: u.value }, u.pipe, u.src, u.pos);
  };

  /**
   * Route the event through the pipeline's input that selects it: the first whose filters keep it. A join's
   * left input that throws on an event the right one selects does not hold it back: the failure is
   * reported only if no input selects the event (a left map that assumes left events, say, meets right ones).
   */
  private routeOne(r: Route, event: unknown, src: number, pos: number): void {
    let failed: { side: Side; failure: StepFailure } | null = null;
    for (const side of r.sides) {
      const v = runSteps(side.stages, event);
      if (v === FILTERED) continue;
      if (v instanceof StepFailure) {
        failed ??= { side, failure: v };
        continue;
      }
      return this.routeSelected(r, side, v, src, pos);
    }
    if (failed !== null) {
      const { side, failure } = failed;
      this.fail(r, side, failure.stage, codes.USER_FUNCTION, describeThrown(failure.error), failure.value, undefined, src, pos);
    }
  }

  /** An event its input selected: key, event time, watermark, and into the frame for its actor. */
  private routeSelected(r: Route, side: Side, v: unknown, src: number, pos: number): void {
    const p = r.pipeline;
    let key: unknown;
    let sk: StateKey | undefined;
    let kg: number;
    if (side.keySelector) {
      try {
        key = side.keySelector(v);
      } catch (err) {
        return this.fail(r, side, 'keyBy', codes.USER_FUNCTION, describeThrown(err), v, undefined, src, pos);
      }
      const checked = checkKey(key, this.maxKeyGroups);
      if ('code' in checked) return this.fail(r, side, 'keyBy', checked.code, checked.detail, v, undefined, src, pos);
      ({ key, sk, kg } = checked);
    } else {
      kg = this.roundRobin;
      this.roundRobin = (kg + 1) % this.maxKeyGroups;
    }
    let ts = NaN;
    let wm = -Infinity;
    if (r.watermarks !== null) {
      let raw: unknown;
      try {
        raw = side.timeSelector!(v);
      } catch (err) {
        return this.fail(r, side, 'eventTime', codes.USER_FUNCTION, describeThrown(err), v, key, src, pos);
      }
      const t = toEventTime(raw);
      if (t === null) {
        return this.fail(r, side, 'eventTime', codes.BAD_TIME, `eventTime() returned ${describeTime(raw)}: event time must be a number of milliseconds within ±${MAX_EVENT_TIME} (a Date's range), or a Date`, v, key, src, pos);
      }
      if (t > this.futureFrom) this.warnFuture(r.index, src, pos, t);
      ts = t;
      if (this.stampLargest) {
        wm = r.largest;
        if (t > wm) r.largest = t;
      } else {
        wm = r.watermarks.current();
        r.watermarks.observe(src, t);
      }
    }
    const actor = this.owner[kg];
    const builder = this.senders[actor].builder;
    if (r.combiner !== null && sk !== undefined && (this.stampLargest ? this.chunkCombines : !this.tracked.has(src))) {
      // The most the watermark can be at this event: its own, or (stamping largest times) what the largest time
      // before it makes; or where an actor already is (after recovery).
      const bound = Math.max(this.stampLargest ? wm - p.outOfOrderMs - 1 : wm, r.actorsAt);
      if (r.combiner.add(builder, actor, r.index, src, kg, ts, wm, bound, pos, key, sk, v)) return this.sealIfFull(actor);
    }
    builder.event(r.index, src, kg, ts, wm, pos, key, side.tag < 0 ? v : [side.tag, v]);
    this.sealIfFull(actor);
  }

  private fail(r: Route, side: Side, stage: Stage, code: Problem['code'], detail: string, event: unknown, key: unknown, src: number, pos: number): void {
    this.report({ code, stage, detail: side.label + detail, event, ...(key === undefined ? {} : { key }) }, r.index, src, pos);
  }
}

function sidesOf(p: Pipeline): Side[] {
  const own = { stages: p.stages, keySelector: p.keySelector, timeSelector: p.timeSelector };
  if (p.joined === null) return [{ ...own, tag: -1, label: '' }];
  const { other } = p.joined;
  return [
    { ...own, tag: LEFT, label: '' },
    { stages: other.stages, keySelector: other.keySelector, timeSelector: other.timeSelector, tag: RIGHT, label: `the joined input '${other.name}': ` },
  ];
}

function describeTime(raw: unknown): string {
  if (typeof raw === 'string') return `the string ${JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + '…' : raw)}`;
  if (typeof raw === 'number') return String(raw);
  return raw === null ? 'null' : typeof raw;
}
