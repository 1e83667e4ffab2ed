import { AggregateSet, type AggregateResults, type AggregateSpec } from './aggregates/aggregate-set.js';
import { callerModuleUrl } from '../shared/module-url.js';
import type { ProcessFunction } from './process-function.js';
import { intervalJoinFunction, type IntervalJoinOptions } from './interval-join.js';
import { regularJoinFunction, type RegularJoinOptions } from './regular-join.js';
import { sessionJoinFunction } from './session-join.js';
import { windowJoinFunction, type JoinWindow, type WindowJoinOptions } from './window-join.js';
import type { JoinedPair } from './join-input.js';
import { bounded } from './windows/bounded.js';
import { partialAggregates, mergedAggregates, twoPhaseProblems } from './aggregates/two-phase.js';
import { isMerging, windowSpecProblem, type WindowOptions, type WindowResult, type WindowSpec } from './windows/window.js';

export type Stage = { kind: 'filter'; fn: (e: any) => unknown } | { kind: 'map'; fn: (e: any) => unknown };

export interface EventTimeOptions {
  /** Bounded out-of-orderness: how far behind the largest time seen an event may still arrive. */
  outOfOrderMs?: number;
  /**
   * A source (an ingest() `source` or `sourceId`) that has sent nothing for this long, in wall-clock
   * ms, stops holding the watermark back until it sends again (Flink's withIdleness). Default: never.
   */
  idleAfterMs?: number;
}

const BRAND = Symbol.for('keyflow.pipeline');
/** The key selector of a stage that keepKey() began: never called, its input keeps the key it was made for. */
const SAME_KEY = (): never => {
  throw new Error('a keepKey() stage has the key of its input');
};
const OWN_FILES = [import.meta.url];

/**
 * A named dataflow: a stateless chain (filter/map), then keyBy, optionally eventTime, then a window
 * with aggregates, a process function, or a join with another pipeline's stateless half, and after that
 * a stateless chain on its results, and a next stage (keyBy() or keepKey()) if any. Pipelines must live in
 * a module that worker threads can import; the module is recorded when `pipeline()` is called.
 */
export class Pipeline<T = any> {
  readonly [BRAND] = true;
  /** Its name; a stage that another follows is renamed `<name>/<stage number>` (see keyBy), the last keeps the name. */
  name: string;
  readonly moduleUrl: string | undefined;
  /**
   * The stage before this one, whose results are this stage's input (null: this stage reads the sources):
   * its own earlier stage (keyBy() after a stateful part), or another pipeline it reads with from().
   */
  upstream: Pipeline | null = null;
  /** The stage after this one, once keyBy() followed this stage's stateful part: its results go there only. */
  downstream: Pipeline | null = null;
  /**
   * This stage takes its previous stage's results in the same actor, with their key (keepKey()), not
   * through the shuffle.
   */
  chained = false;
  /** Pipelines that read this one's results with from(): its results go out and to each of them. */
  readonly readers: Pipeline[] = [];
  readonly stages: Stage[] = [];
  /** filter()/map() after the stateful part (aggregate(), process(), a join): run on its results, by the actor. */
  readonly resultStages: Stage[] = [];
  keySelector: ((e: any) => unknown) | null = null;
  timeSelector: ((e: any) => unknown) | null = null;
  outOfOrderMs = 0;
  idleAfterMs: number | null = null;
  windowSpec: WindowSpec | null = null;
  allowedLatenessMs = 0;
  aggregates: AggregateSpec | null = null;
  processFunction: ProcessFunction | null = null;
  /** A join: the other input (its filter/map, keyBy and eventTime); its process function is `processFunction`. */
  joined: Join | null = null;
  private readonly misuse: string[] = [];

  constructor(name: string, moduleUrl: string | undefined) {
    this.name = name;
    this.moduleUrl = moduleUrl;
  }

  /**
   * Read the results of pipeline `source` (a window aggregate, a process() or a join), as Flink reads one
   * job's output in another, within the engine: this pipeline is a later stage fed by `source`'s actors, its
   * results are its own, and `source`'s go out as before. Then filter()/map(), keyBy() and the rest, as
   * for a pipeline that reads the sources, except eventTime(): a result keeps its time.
   */
  from<S>(source: Pipeline<S>): Pipeline<S> {
    if (this.upstream || this.stages.length > 0 || this.keySelector || this.timeSelector) this.misuse.push('from() must come first, right after pipeline()');
    else if (!isPipeline(source)) this.misuse.push('from() needs a pipeline() to read the results of');
    else if (source.downstream) this.misuse.push(`from('${source.name}'): its results go to its next stage, '${source.downstream.name}'; read that`);
    else if (readsFromAtAll(source, this)) this.misuse.push(`from('${source.name}'): a pipeline cannot read its own results`);
    else {
      this.upstream = source as Pipeline;
      source.readers.push(this);
    }
    return this as unknown as Pipeline<S>;
  }

  filter(fn: (event: T) => unknown): Pipeline<T> {
    this.stateless('filter', fn);
    return this;
  }

  map<U>(fn: (event: T) => U): Pipeline<U> {
    this.stateless('map', fn);
    return this as unknown as Pipeline<U>;
  }

  /**
   * The key. After the stateful part (aggregate(), process(), a join) it starts the next stage: its results,
   * re-keyed, go from actor to actor to the actor of their new key (a shuffle). The new stage is returned;
   * this one is renamed `<name>/<stage number>`, and the last stage keeps the name and the outputs.
   */
  keyBy(fn: (event: T) => unknown): Pipeline<T> {
    if (this.downstream) {
      this.misuse.push(`keyBy() on a stage that another already follows: a stage's results go to one next stage`);
      return this;
    }
    if (this.aggregates || this.processFunction) return this.nextStage(fn);
    if (this.keySelector) this.misuse.push(this.chained ? 'keyBy() after keepKey(), which keys the stage already' : 'keyBy() is called twice');
    this.keySelector = fn;
    return this;
  }

  /**
   * After the stateful part (aggregate(), process(), a join): the next stage, keyed as this one (Kafka
   * Streams' groupByKey(), Flink's chained operators of one key): each result goes on with the key it was
   * made for, in the actor that made it, with no shuffle between the stages. The next stage takes its input
   * in the order this one produces it, and its watermark is this stage's (see the README, Stages).
   */
  keepKey(): Pipeline<T> {
    if (this.downstream) {
      this.misuse.push(`keepKey() on a stage that another already follows: a stage's results go to one next stage`);
      return this;
    }
    if (!this.aggregates && !this.processFunction) {
      this.misuse.push('keepKey() starts a next stage: it comes after aggregate(), process() or a join');
      return this;
    }
    const next = this.nextStage(SAME_KEY);
    next.chained = true;
    return next;
  }

  eventTime(fn: (event: T) => number | Date, options: EventTimeOptions = {}): Pipeline<T> {
    if (this.afterStateful('eventTime')) return this;
    if (this.upstream) this.misuse.push('eventTime() in a later stage: its input keeps the time of the results it is made of (a window result: its end − 1)');
    this.timeSelector = fn;
    this.outOfOrderMs = options.outOfOrderMs ?? 0;
    this.idleAfterMs = options.idleAfterMs ?? null;
    return this;
  }

  window(spec: WindowSpec, options: WindowOptions = {}): Pipeline<T> {
    if (this.afterStateful('window')) return this;
    if (this.joined) this.misuse.push(`${this.joined.kind}() takes the place of window() or process(): use one of them`);
    this.windowSpec = spec;
    this.allowedLatenessMs = options.allowedLatenessMs ?? 0;
    return this;
  }

  /**
   * The window's aggregates; from here on the pipeline's items are its results (for filter() and map()).
   * With `preAggregateBy`, in two phases (Flink's local-global aggregation): events are aggregated per key
   * and `preAggregateBy(event)` first (a bucket: `(b) => b.auction % 16`), spread over the actors, and each
   * window's partial accumulators are merged per key in a second stage, so a hot or global key
   * (`keyBy(() => 'all')`) no longer runs on one actor alone. The results are the same as in one phase.
   */
  aggregate<S extends AggregateSpec<T>>(spec: S, options: AggregateOptions<T> = {}): Pipeline<WindowResult<AggregateResults<S>>> {
    if (this.afterStateful('aggregate')) return this as never;
    const { preAggregateBy } = options ?? {};
    if (preAggregateBy === undefined) {
      this.aggregates = spec;
      return this as unknown as Pipeline<WindowResult<AggregateResults<S>>>;
    }
    if (typeof preAggregateBy !== 'function') this.misuse.push('aggregate() preAggregateBy must be a function');
    if (this.windowSpec && isMerging(this.windowSpec)) this.misuse.push(`aggregate() preAggregateBy takes tumbling() or sliding() windows, not ${this.windowSpec.type}()`);
    if (this.allowedLatenessMs !== 0) this.misuse.push('aggregate() preAggregateBy with allowedLatenessMs: a re-firing would reach the second phase late, for now');
    this.misuse.push(...twoPhaseProblems(spec));
    const key = this.keySelector;
    // A missing key stays missing (and a dead letter), rather than a pair with a bucket.
    if (typeof key === 'function') this.keySelector = (e: T) => {
      const k = key(e);
      return k === undefined || k === null ? k : [k, preAggregateBy(e)];
    };
    this.aggregates = partialAggregates(spec);
    return this.nextStage((r) => (r as { key: [unknown, unknown] }).key[0])
      .window(ownWindow)
      .aggregate(mergedAggregates(spec)) as unknown as Pipeline<WindowResult<AggregateResults<S>>>;
  }

  /** A keyed process function; from here on the pipeline's items are what it emits (for filter() and map()). */
  process<Out>(fn: ProcessFunction<T, Out>): Pipeline<Out> {
    if (this.joined) this.misuse.push(`${this.joined.kind}() takes the place of window() or process(): use one of them`);
    else if (!this.afterStateful('process')) this.processFunction = fn;
    return this as unknown as Pipeline<Out>;
  }

  /**
   * Flink's interval join: this pipeline's events (the left input) with `other`'s (the right input), both
   * from the same source, keyed alike: a right event at time s joins a left event of the same key at time t
   * when t + lowerMs <= s <= t + upperMs. `other` gives only its filter/map, keyBy and eventTime; the
   * watermark is this pipeline's, over both inputs' event times (one source, one watermark, as in Flink).
   * An event that both inputs select is a left event only. Results: `select(left, right, key)`, by default
   * `{ key, left, right }`; events older than the watermark go to the late output.
   */
  intervalJoin<R, Out = { key: unknown; left: T; right: R }>(other: Pipeline<R>, options: IntervalJoinOptions<T, R, Out>): Pipeline<Out> {
    const { lowerMs, upperMs, select } = options ?? {};
    const problems: string[] = [];
    if (!(Number.isFinite(lowerMs) && Number.isFinite(upperMs) && lowerMs <= upperMs)) {
      problems.push(`intervalJoin() needs lowerMs <= upperMs, both numbers, got lowerMs ${String(lowerMs)} and upperMs ${String(upperMs)}`);
    }
    this.joins({ kind: 'intervalJoin', other, problems, result: pairResult(select) }, select, intervalJoinFunction(lowerMs, upperMs));
    return this as unknown as Pipeline<Out>;
  }

  /**
   * Flink's window join: this pipeline's events (the left input) with `other`'s (the right input), both from
   * the same source and keyed alike, in tumbling, sliding or session windows of event time (sessions merge
   * over both inputs). When a window fires, every pair of a left and a right event of one key in it is a
   * result: `select(left, right, { key, windowStart, windowEnd })`, by default `{ key, windowStart,
   * windowEnd, left, right }`. As with intervalJoin(), one watermark over both inputs; an event whose windows
   * have all fired goes to the late output.
   */
  windowJoin<R, Out = JoinWindow & { left: T; right: R }>(other: Pipeline<R>, spec: WindowSpec, options: WindowJoinOptions<T, R, Out> = {}): Pipeline<Out> {
    const problem = windowSpecProblem(spec);
    const { select } = options ?? {};
    const join = { kind: 'windowJoin' as const, other, problems: problem === null ? [] : [problem] };
    const result = select === undefined
      ? ([left, right, windowStart, windowEnd]: JoinedPair, key: unknown) => ({ key, windowStart, windowEnd, left, right })
      : ([left, right, windowStart, windowEnd]: JoinedPair, key: unknown) => select(left as T, right as R, { key, windowStart: windowStart!, windowEnd: windowEnd! });
    if (spec?.type === 'bounded') join.problems.push('windowJoin() takes tumbling(), sliding() or session() windows');
    const fn = problem !== null || spec.type === 'bounded' ? { onEvent() {} } : spec.type === 'session' ? sessionJoinFunction(spec.gap) : windowJoinFunction(spec);
    this.joins({ ...join, result }, select, fn);
    return this as unknown as Pipeline<Out>;
  }

  /**
   * Flink's regular join, with a TTL: this pipeline's events (the left input) with `other`'s (the right
   * input), both from the same source and keyed alike. Each event is kept until the watermark reaches its
   * time + ttlMs, and joins every kept event of the other input with its key: `select(left, right, key)`, by
   * default `{ key, left, right }`. As with intervalJoin(), one watermark over both inputs; nothing is late
   * (an event older than its TTL still joins what is kept, and is not kept itself).
   */
  join<R, Out = { key: unknown; left: T; right: R }>(other: Pipeline<R>, options: RegularJoinOptions<T, R, Out>): Pipeline<Out> {
    const { ttlMs, select } = options ?? {};
    const problems = Number.isFinite(ttlMs) && ttlMs > 0 ? [] : [`join() needs ttlMs, a number > 0, got ${String(ttlMs)}`];
    this.joins({ kind: 'join', other, problems, result: pairResult(select) }, select, regularJoinFunction(ttlMs));
    return this as unknown as Pipeline<Out>;
  }

  private joins(join: Join, select: unknown, fn: ProcessFunction): void {
    const { kind } = join;
    if (this.joined) this.misuse.push(`${kind}() after ${this.joined.kind}(): a pipeline joins once`);
    else if (this.processFunction || this.windowSpec) this.misuse.push(`${kind}() takes the place of window() or process(): use one of them`);
    if (select !== undefined && typeof select !== 'function') join.problems.push(`${kind}() select must be a function`);
    this.joined = join;
    this.processFunction = fn;
  }

  /** Every problem with this pipeline's definition (its earlier stages' too); start() refuses to run if there is any. */
  problems(): string[] {
    return [...(this.upstream?.problems() ?? []), ...this.ownProblems()];
  }

  private ownProblems(): string[] {
    const out = [...this.misuse];
    const p = (s: string) => out.push(s);
    if (typeof this.name !== 'string' || this.name.length === 0) p('a pipeline needs a non-empty name');
    for (const s of [...this.stages, ...this.resultStages]) if (typeof s.fn !== 'function') p(`${s.kind}() needs a function`);
    if (this.keySelector !== null && typeof this.keySelector !== 'function') p('keyBy() needs a function');
    if (this.timeSelector !== null && typeof this.timeSelector !== 'function') p('eventTime() needs a function');
    if (!(Number.isFinite(this.outOfOrderMs) && this.outOfOrderMs >= 0)) p(`eventTime() outOfOrderMs must be a number >= 0, got ${this.outOfOrderMs}`);
    if (this.idleAfterMs !== null && !(Number.isFinite(this.idleAfterMs) && this.idleAfterMs > 0)) p(`eventTime() idleAfterMs must be a number > 0, got ${this.idleAfterMs}`);
    if (!(Number.isFinite(this.allowedLatenessMs) && this.allowedLatenessMs >= 0)) p(`window() allowedLatenessMs must be a number >= 0, got ${this.allowedLatenessMs}`);
    if (this.windowSpec) {
      const problem = windowSpecProblem(this.windowSpec);
      if (problem) p(problem);
      if (!this.keySelector) p('window() needs keyBy() first');
      if (!this.timeSelector && !this.upstream) p('window() needs eventTime(): windows are event-time windows');
      if (!this.aggregates) p('window() needs aggregate({...}) to say what to compute');
    }
    if (this.aggregates) {
      if (!this.windowSpec) p('aggregate() needs window() first');
      const names = Object.keys(this.aggregates);
      if (names.length === 0) p('aggregate() needs at least one named aggregate');
      for (const n of names) {
        if (['key', 'windowStart', 'windowEnd'].includes(n)) p(`aggregate name '${n}' clashes with a result field`);
        const a = this.aggregates[n] as unknown as Record<string, unknown>;
        if (!a || typeof a.init !== 'function' || typeof a.add !== 'function' || typeof a.result !== 'function') {
          p(`aggregate '${n}' must be a built-in (count(), sum(fn), …) or { init, add, merge?, result }`);
        }
      }
      if (this.windowSpec && isMerging(this.windowSpec) && out.length === 0) {
        const cannot = new AggregateSet(this.aggregates).unmergeable();
        if (cannot.length > 0) p(`${this.windowSpec.type}() windows merge accumulators: aggregate(s) ${cannot.join(', ')} need a merge() function`);
      }
    }
    if (this.downstream && !this.upstream && !this.timeSelector) p('a stage that another follows needs eventTime(): the next stage takes its input in event time');
    const source = this.readsFrom();
    if (source) {
      if (!(source.aggregates || source.processFunction)) p(`from('${source.name}'): it reads the results of window().aggregate(), process() or a join`);
      else if (!inEventTime(source)) p(`from('${source.name}'): it needs eventTime(), as this pipeline takes its input in event time`);
      if (!this.keySelector) p('a pipeline that reads another with from() needs keyBy(): its input goes to the actor of its key');
    }
    if (this.joined) out.push(...this.joinProblems(this.joined));
    else if (this.processFunction) {
      if (!this.keySelector) p('process() needs keyBy() first');
      if (this.windowSpec) p('use either window().aggregate() or process(), not both');
      if (typeof this.processFunction.onEvent !== 'function') p('process() needs an object with an onEvent(event, ctx) function');
    }
    return out.map((s) => `pipeline '${this.name}': ${s}`);
  }

  private joinProblems({ kind, other, problems }: Join): string[] {
    const out = [...problems];
    // A later stage's inputs keep the times of the results they are made of: no eventTime() on either.
    const later = this.upstream !== null;
    if (!this.keySelector || (!later && !this.timeSelector)) out.push(`${kind}() needs keyBy()${later ? '' : ' and eventTime()'} first`);
    if (!isPipeline(other)) return [...out, `${kind}() needs another pipeline() to join with`];
    if (other === this) return [...out, `${kind}() of a pipeline with itself: join two pipelines (they may select the same events)`];
    const name = `${kind}() input '${other.name}'`;
    if (this.chained) return [...out, `${kind}() after keepKey(): a join's inputs both come through keyBy(), from the sources or from() other pipelines' results`];
    if (later !== (other.upstream !== null)) {
      return [...out, `${name}: one input reads the sources and the other a pipeline's results; join two inputs that read the sources, or two that read results (from())`];
    }
    if (later && other.readsFrom() === null) return [...out, `${name} takes its input with from(): pipeline('${other.name}').from(results)`];
    if (later && readsFromAtAll(other, this)) return [...out, `${name} reads this pipeline's own results`];
    if (!other.keySelector || (!later && !other.timeSelector)) out.push(`${name} needs keyBy()${later ? '' : ' and eventTime()'}`);
    // The input is read for its stateless half only: anything else would be ignored (and a join of its own could loop back here).
    if (other.windowSpec || other.aggregates || other.processFunction) return [...out, `${name} may only have ${later ? 'from(), ' : ''}filter(), map(), keyBy()${later ? '' : ' and eventTime()'}`];
    if (!later && (other.outOfOrderMs !== 0 || other.idleAfterMs !== null)) {
      out.push(`${name}: give eventTime() options (outOfOrderMs, idleAfterMs) to the join pipeline, whose one watermark covers both inputs`);
    }
    out.push(...other.problems().map((problem) => `${name}: ${problem}`));
    return out;
  }

  /**
   * A step that would follow the stateful part (aggregate(), process(), a join) is refused: after it come only
   * filter() and map() on its results, and keyBy() or keepKey(), which start the next stage.
   */
  private afterStateful(step: string): boolean {
    if (!this.aggregates && !this.processFunction) return false;
    const done = this.joined ? `${this.joined.kind}()` : this.aggregates ? 'aggregate()' : 'process()';
    this.misuse.push(`${step}() after ${done}: only filter() and map() (on its results), and keyBy() or keepKey() (a new stage) may follow it`);
    return true;
  }

  private nextStage(fn: (event: T) => unknown): Pipeline<T> {
    if (this.readers.length > 0) this.misuse.push(`${fn === SAME_KEY ? 'keepKey()' : 'keyBy()'} after the stateful part of a pipeline that ${this.readers.map((r) => `'${r.name}'`).join(', ')} read(s) with from(): its results would go to the next stage only`);
    const next = new Pipeline<T>(this.name, this.moduleUrl);
    next.upstream = this;
    next.keySelector = fn;
    this.downstream = next;
    this.name = `${this.name}/${stagesOf(this).length}`;
    return next;
  }

  /** The pipeline this one reads with from(), or null. */
  readsFrom(): Pipeline | null {
    return this.upstream !== null && this.upstream.downstream !== this ? this.upstream : null;
  }

  /** A filter or map: on the events before keyBy(), or on the results after the stateful part. */
  private stateless(kind: Stage['kind'], fn: (e: any) => unknown): void {
    if (this.aggregates || this.processFunction) this.resultStages.push({ kind, fn });
    else if (this.chained) this.misuse.push(`${kind}() right after keepKey(): put it before keepKey(), on the earlier stage's results`);
    else if (this.keySelector || this.windowSpec) this.misuse.push(`${kind}() must come before keyBy(), or after aggregate(), process() or a join (on the results)`);
    else this.stages.push({ kind, fn });
  }
}

/** A pipeline's join with another input (see intervalJoin, windowJoin, join). */
interface Join {
  kind: 'intervalJoin' | 'windowJoin' | 'join';
  /** The right input: its filter/map, keyBy and eventTime. */
  other: Pipeline;
  /** A joined pair as a result: the pipeline's select, or its default (run by JoinOperator). */
  result: (pair: JoinedPair, key: unknown) => unknown;
  /** What is wrong with the join's own arguments. */
  problems: string[];
}

/** An interval or regular join's result: `select(left, right, key)`, or `{ key, left, right }`. */
function pairResult(select: ((left: any, right: any, key: unknown) => unknown) | undefined): Join['result'] {
  return select === undefined ? ([left, right], key) => ({ key, left, right }) : ([left, right], key) => select(left, right, key);
}

export interface AggregateOptions<T> {
  /** Aggregate in two phases, first per key and this bucket of the event (see Pipeline.aggregate). */
  preAggregateBy?: (event: T) => unknown;
}

/** A first phase's result's own window, in the second phase (see Pipeline.aggregate). */
const ownWindow = bounded((r: { windowStart: number; windowEnd: number }) => [r.windowStart, r.windowEnd]);

export interface PipelineOptions {
  /** The module that defines this pipeline (pass `import.meta.url`); found from the stack if omitted. */
  module?: string | URL;
}

export function pipeline<T = any>(name: string, options: PipelineOptions = {}): Pipeline<T> {
  const url = options.module !== undefined ? String(options.module) : callerModuleUrl(OWN_FILES);
  return new Pipeline<T>(name, url);
}

export function isPipeline(x: unknown): x is Pipeline {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BRAND] === true;
}

/** The last stage of the pipeline `p` is a stage of (`p` itself if none follows it). */
export function lastStageOf(p: Pipeline): Pipeline {
  let last = p;
  while (last.downstream !== null) last = last.downstream;
  return last;
}

/** A pipeline's own stages, up to `p`, the first (which reads the sources, or another pipeline) first. */
export function stagesOf(p: Pipeline): Pipeline[] {
  const stages = [p];
  for (let s = p; s.upstream !== null && s.upstream.downstream === s; s = s.upstream) stages.unshift(s.upstream);
  return stages;
}

/** Whether `p` takes its input from other actors, through the shuffle: a later stage, not one keepKey() began. */
export function isShuffled(p: Pipeline): boolean {
  return p.upstream !== null && !p.chained;
}

/**
 * Whether `p` is, or takes input from, pipeline `q` at any depth: through its earlier stages, from(), or the
 * other input of a join in a later stage (which may close a loop that from() alone cannot).
 */
function readsFromAtAll(p: Pipeline, q: Pipeline, seen = new Set<Pipeline>()): boolean {
  if (p === q) return true;
  if (seen.has(p)) return false;
  seen.add(p);
  return [p.upstream, joinedUpstream(p)].some((input) => input !== null && readsFromAtAll(input, q, seen));
}

/** Whether `p`'s results have event times: its first stage has eventTime(), or reads a pipeline whose do. */
function inEventTime(p: Pipeline): boolean {
  const first = stagesOf(p)[0];
  const source = first.readsFrom();
  return source === null ? first.timeSelector !== null : inEventTime(source);
}

/**
 * What runs for `p` to run: the pipelines it reads (with theirs, and those a join in one of its stages reads
 * for its other input), then its stages up to `p`.
 */
export function runOrderOf(p: Pipeline, reading = new Set<Pipeline>()): Pipeline[] {
  // A pipeline that reads its own results (through a join) is refused by problems(): stop at the loop here.
  if (reading.has(p)) return [];
  reading.add(p);
  const stages = stagesOf(p);
  const source = stages[0].readsFrom();
  const joined = stages.flatMap((s) => {
    const read = joinedUpstream(s);
    return read === null ? [] : runOrderOf(read, reading);
  });
  const order = [...new Set([...(source === null ? [] : runOrderOf(source, reading)), ...joined, ...stages])];
  reading.delete(p);
  return order;
}

/** The pipeline whose results are the other input of `p`'s join in a later stage (read with from()), or null. */
export function joinedUpstream(p: Pipeline): Pipeline | null {
  const other = p.joined?.other;
  return p.upstream !== null && isPipeline(other) ? other.readsFrom() : null;
}

/**
 * Every pipeline a module exports (directly, in an exported array, or as values of an exported object),
 * each with its earlier stages before it: the runnable units. A stage that another follows is run as part of
 * the pipeline it ends in, not on its own, even when exported.
 */
export function pipelinesExportedBy(mod: Record<string, unknown>): Pipeline[] {
  const found: Pipeline[] = [];
  const visit = (v: unknown, depth: number) => {
    if (isPipeline(v)) {
      for (const stage of runOrderOf(lastStageOf(v))) if (!found.includes(stage)) found.push(stage);
      return;
    }
    if (depth > 0 && Array.isArray(v)) v.forEach((x) => visit(x, depth - 1));
    else if (depth > 0 && v && typeof v === 'object') Object.values(v).forEach((x) => visit(x, depth - 1));
  };
  for (const v of Object.values(mod)) visit(v, 2);
  return found;
}
