import type { Activity } from '../shared/activity.js';
import { viewPane, type DecodedPane, type FrameView, type PaneView } from '../shared/codec/frame.js';
import { Kind, STAGE_SOURCE, type SnapshotAck, type SourceInfo } from '../shared/codec/records.js';
import { untimedResultProblem, type Problem } from '../shared/dead-letter.js';
import { inStageOrder, type Shuffle, type StageTarget } from './shuffle.js';
import { decodeGroup, encodeGroup, type ActorSnapshot, type GroupSnapshot } from '../shared/durability/snapshot-file.js';
import { keyGroupRange, stateKeyOf } from '../shared/keygroups.js';
import type { Operator, OperatorOutput } from './operators/operator.js';
import type { OutputWriter } from './output-writer.js';
import type { Pipeline } from '../pipeline/pipeline.js';

/** What `apply` met that the caller must act on. */
export type Control = { kind: 'none' } | { kind: 'barrier'; checkpoint: number } | { kind: 'end' };

const NONE: Control = { kind: 'none' };

/** Where each pipeline's results go besides the shuffle (by pipe). */
export interface StageLinks {
  /** Its results go on to a next stage, not to the outputs. */
  continued: boolean[];
  /** The pipe of the stage keepKey() began after it, which takes its results in this actor; -1 for none. */
  chainedTo: number[];
  /** keepKey() began it: it takes the results of the stage before it, and moves with its watermark. */
  chained: boolean[];
}

export function stageLinks(pipelines: readonly Pipeline[]): StageLinks {
  return {
    continued: pipelines.map((p) => p.downstream !== null),
    chainedTo: pipelines.map((p) => (p.downstream?.chained ? pipelines.indexOf(p.downstream) : -1)),
    chained: pipelines.map((p) => p.chained),
  };
}

/**
 * The state an actor owns and the rules for applying input to it, apart from threads and files:
 * one operator per pipeline, per key-group output numbering, exactly-once source positions, and
 * snapshot/restore per key-group.
 */
export class Actor implements StageTarget {
  readonly operators: Operator[];
  /** Between the stages of pipelines of several stages (null: none here). */
  private shuffle: Shuffle | null = null;
  /**
   * Results and late events emitted per pipeline and key-group (index pipe * maxKeyGroups + kg); the next
   * is numbered one more. Replay reproduces the same numbers, which is how sinks skip what they have.
   */
  private readonly outputs: Float64Array;
  /**
   * Per pipeline and key-group (index pipe * maxKeyGroups + kg), exactly-once sources: name → highest
   * position applied. Per pipeline, because one event is a record for each pipeline, all at its position.
   */
  private readonly applied: Array<Map<string, number> | undefined>;
  private readonly sources = new Map<number, SourceInfo>();
  /**
   * Each pipeline's watermark, moved after what its move fires (see advance): while the operator fires, it is
   * the watermark before, which is what a next stage may have heard already (see Shuffle.emit).
   */
  private readonly watermarks: number[];
  private seq = 0;
  /** Where the PARTIAL record being applied finds its events' inputs (reused). */
  private readonly pane: PaneView = { count: 0, inputs: [], at: 0 };
  failed = false;
  /** A snapshot being captured: groups not yet copied, and those copied. */
  private capturing: { header: Omit<ActorSnapshot, 'groups'>; pending: Set<number>; groups: Record<number, Uint8Array> } | null = null;
  /** The longest single stop for the snapshot in progress (one group's copy, or one slice of them). */
  longestStopMs = 0;
  /** Keys captured by the snapshot in progress. */
  capturedKeys = 0;

  constructor(private readonly names: string[], private readonly links: StageLinks, makeOperator: (pipe: number, out: OperatorOutput) => Operator,
              private readonly out: OutputWriter, private readonly failFast: boolean,
              private readonly maxKeyGroups: number, private readonly activity: Activity) {
    this.outputs = new Float64Array(maxKeyGroups * names.length);
    this.applied = new Array(maxKeyGroups * names.length);
    this.watermarks = names.map(() => -Infinity);
    this.operators = names.map((_, pipe) => makeOperator(pipe, this.outputFor(pipe)));
  }

  /** Send the results of stages that feed another through `shuffle`, and take their input from it. */
  connect(shuffle: Shuffle): void {
    this.shuffle = shuffle;
  }

  /** A later stage's input (see shuffle.ts): one record, in the order the shuffle decided. */
  applyStage(pipe: number, kg: number, key: unknown, ts: number, wm: number, value: unknown): void {
    if (this.failed) return;
    this.activity.begin();
    this.activity.event(pipe, kg, STAGE_SOURCE, ts);
    this.copyBeforeChange(kg);
    this.operators[pipe].onEvent(kg, key, stateKeyOf(key), ts, wm, STAGE_SOURCE, ts, this.seq++, value);
    this.activity.end();
  }

  /**
   * A result of the stage before `pipe`, which keepKey() began: applied to it at once, with its key, as of
   * its watermark (the stage before's, as it stood before the step that made the result).
   */
  private applyChained(pipe: number, kg: number, key: unknown, ts: number, value: unknown): void {
    if (this.failed) return;
    if (Number.isNaN(ts)) return this.stageProblem(untimedResultProblem(value), pipe, kg, NaN);
    this.activity.touched(pipe, kg);
    this.copyBeforeChange(kg);
    this.operators[pipe].onEvent(kg, key, stateKeyOf(key), ts, this.watermarks[pipe], STAGE_SOURCE, ts, this.seq++, value);
  }

  /** A later stage's watermark moved: every producer's has passed `wm`. */
  advanceStage(pipe: number, wm: number): void {
    if (this.failed) return;
    this.activity.begin();
    this.activity.advancing(Kind.WATERMARK, pipe, wm);
    this.advance(pipe, wm);
    this.activity.end();
  }

  /** A result that cannot go on to the next stage (`pipe`), reported as that stage's. */
  stageProblem(problem: Problem, pipe: number, kg: number, ts: number): void {
    this.out.problem(pipe, STAGE_SOURCE, kg, ts, problem);
    if (this.failFast) this.failed = true;
  }

  /** A snapshot for `checkpoint` is complete (and written, when durable). */
  emitBarrierAck(checkpoint: number, ack: SnapshotAck): void {
    this.out.barrierAck(checkpoint, ack);
  }

  /** Everything is emitted: the last output record. */
  emitEnd(): void {
    this.out.end();
  }

  /**
   * Apply records [from, to) of a frame (to its end by default), stopping early at a barrier or the end
   * marker (the caller acts on it and resumes after it). When replaying the WAL, barriers and end markers of
   * earlier runs are passed over: their work is in the snapshots, or the run they ended is being continued.
   */
  apply(frame: FrameView, from: number, replaying: boolean, to = frame.count): { control: Control; next: number } {
    const { kind, pipe, kg, ts, wm, src, pos, keys, values } = frame;
    const activity = this.activity;
    activity.begin();
    for (let i = from; i < to && !this.failed; i++) {
      switch (kind[i]) {
        case Kind.EVENT: {
          const p = pipe[i];
          const g = kg[i];
          activity.event(p, g, src[i], pos[i]);
          this.copyBeforeChange(g);
          if (this.isDuplicate(p, g, src[i], pos[i])) break;
          if (wm[i] > this.watermarks[p]) this.advance(p, wm[i]);
          const key = keys[i];
          this.operators[p].onEvent(g, key, stateKeyOf(key), ts[i], wm[i], src[i], pos[i], this.seq++, values[i]);
          break;
        }
        case Kind.PARTIAL: {
          // Several events of one key and window pane (see window-combiner.ts): never from an
          // exactly-once source, so there are no positions to deduplicate.
          const p = pipe[i];
          const g = kg[i];
          activity.event(p, g, src[i], pos[i]);
          this.copyBeforeChange(g);
          if (wm[i] > this.watermarks[p]) this.advance(p, wm[i]);
          const key = keys[i];
          const pane = viewPane(frame, values[i] as DecodedPane, this.pane);
          this.operators[p].onPartial!(g, key, stateKeyOf(key), ts[i], wm[i], src[i], pos[i], this.seq, pane);
          this.seq += pane.count;
          break;
        }
        case Kind.WATERMARK:
          activity.advancing(Kind.WATERMARK, pipe[i], wm[i]);
          if (wm[i] > this.watermarks[pipe[i]]) this.advance(pipe[i], wm[i]);
          break;
        case Kind.PROCESSING_TIME:
          activity.advancing(Kind.PROCESSING_TIME, -1, ts[i]);
          for (const op of this.operators) op.advanceProcessingTime?.(ts[i]);
          break;
        case Kind.SOURCE:
          this.sources.set(src[i], values[i] as SourceInfo);
          break;
        case Kind.BARRIER:
          if (replaying) break;
          activity.end();
          return { control: { kind: 'barrier', checkpoint: pos[i] }, next: i + 1 };
        case Kind.END:
          if (replaying) break;
          activity.end();
          return { control: { kind: 'end' }, next: i + 1 };
      }
    }
    activity.end();
    return { control: NONE, next: to };
  }

  /**
   * Move pipeline `pipe` to watermark `wm`: fire what is due, then hold it. An event stamped with a later
   * watermark moves it before the event is applied (the operator would, to judge lateness), so that what
   * fires is emitted as of the watermark before, and the event's own results as of its stamp: the same
   * for any worker count (see Shuffle.emit).
   */
  private advance(pipe: number, wm: number): void {
    this.operators[pipe].advanceWatermark(wm);
    this.watermarks[pipe] = wm;
    // A stage keepKey() began moves after what this move fired, which it has taken in as of the watermark before.
    const next = this.links.chainedTo[pipe];
    if (next >= 0 && wm > this.watermarks[next]) this.advance(next, wm);
  }

  /** Each pipeline's watermark as this actor holds it. */
  currentWatermarks(): number[] {
    return [...this.watermarks];
  }

  /** Whether any operator reads the processing-time clock (only then does the actor log it). */
  get usesProcessingTime(): boolean {
    return this.operators.some((op) => op.advanceProcessingTime !== undefined);
  }

  /** The earliest wall-clock time at which an operator has work to do. */
  nextProcessingTime(): number {
    let next = Infinity;
    for (const op of this.operators) next = Math.min(next, op.nextProcessingTime?.() ?? Infinity);
    return next;
  }

  /**
   * Fire everything: the watermark goes to +∞ at the end of input. A later stage gets there through the
   * shuffle, once every producer's earlier stage has (so after everything they send).
   */
  finish(): void {
    this.activity.begin();
    this.activity.advancing(Kind.END, -1, Infinity);
    this.operators.forEach((_, pipe) => {
      if (!this.shuffle?.fed(pipe) && !this.links.chained[pipe]) this.advance(pipe, Infinity);
    });
    this.activity.end();
  }

  /**
   * Start a snapshot of the state as it is at this barrier. It is captured one key-group at a time
   * (`captureSome`), copy-on-write: a group about to change is copied first (`copyBeforeChange`), so the actor never
   * stops for longer than one group takes to encode.
   */
  beginSnapshot(checkpoint: number, owned: { start: number; end: number }): void {
    for (const op of this.operators) op.beginSnapshot();
    const pending = new Set<number>();
    for (let kg = owned.start; kg <= owned.end; kg++) pending.add(kg);
    this.longestStopMs = 0;
    this.capturedKeys = 0;
    this.capturing = {
      header: {
        checkpoint,
        watermarks: [...this.watermarks],
        seq: this.seq,
        sources: [...this.sources],
        operatorState: this.operators.map((op) => op.snapshotOperatorState?.() ?? null),
        ...(this.shuffle ? { waiting: this.shuffle.waitingRecords() } : {}),
      },
      pending,
      groups: {},
    };
  }

  /** Copy key-groups for the snapshot in progress for up to `budgetMs`; the snapshot once all are copied. */
  captureSome(budgetMs: number): ActorSnapshot | null {
    const c = this.capturing;
    if (c === null) return null;
    const t0 = performance.now();
    for (const kg of c.pending) {
      if (performance.now() - t0 >= budgetMs) break;
      c.pending.delete(kg);
      this.capture(kg);
    }
    this.longestStopMs = Math.max(this.longestStopMs, performance.now() - t0);
    if (c.pending.size > 0) return null;
    this.capturing = null;
    return { ...c.header, groups: c.groups };
  }

  get snapshotting(): boolean {
    return this.capturing !== null;
  }

  /** Before a timer changes a key-group of pipeline `pipe`: note it, and copy the group if a snapshot still needs it. */
  private touch(kg: number, pipe: number): void {
    this.activity.touched(pipe, kg);
    this.copyBeforeChange(kg);
  }

  /** Before a key-group changes: if a snapshot still needs it, copy it now (copy-on-write). */
  private copyBeforeChange(kg: number): void {
    const c = this.capturing;
    if (c === null || !c.pending.delete(kg)) return;
    const t0 = performance.now();
    this.capture(kg);
    this.longestStopMs = Math.max(this.longestStopMs, performance.now() - t0);
  }

  private capture(kg: number): void {
    const outputs = this.names.map((_, p) => this.outputs[p * this.maxKeyGroups + kg]);
    const sources = this.names.flatMap((_, p) => [...(this.applied[p * this.maxKeyGroups + kg] ?? [])].map(([name, pos]): GroupSnapshot['sources'][number] => [name, pos, p]));
    const operators = this.operators.map((op) => op.snapshotGroup(kg) ?? null);
    if (sources.length === 0 && outputs.every((n) => n === 0) && operators.every((o) => o === null)) return;
    for (const o of operators) this.capturedKeys += keysIn(o);
    this.capturing!.groups[kg] = encodeGroup({ outputs, sources, operators });
  }

  /**
   * Take over the key-groups this actor owns from the snapshots of a checkpoint (written by any worker
   * count). Each snapshot's groups are restored against that snapshot's own watermark: after a recovery
   * an actor that replayed more of its WAL can be ahead of the others when the next barrier comes, and
   * its windows' timers were set by its watermark. The actor then goes on from the lowest.
   * `snapshots` are in the order of the actors that wrote them (operator state is redistributed by it).
   */
  restore(snapshots: ActorSnapshot[], actor: number, workers: number, pipelines: string[]): void {
    const { start, end } = keyGroupRange(actor, workers, this.maxKeyGroups);
    this.operators.forEach((op, p) => {
      const parts = snapshots.map((snap) => snap.operatorState?.[p] ?? null);
      if (parts.some((part) => part !== null)) op.restoreOperatorState?.(parts, actor, workers);
    });
    const lowest = this.names.map(() => Infinity);
    for (const snap of snapshots) {
      this.seq = Math.max(this.seq, snap.seq);
      for (const [id, info] of snap.sources) this.sources.set(id, info);
      this.operators.forEach((op, p) => {
        op.restoreWatermark(snap.watermarks[p]);
        lowest[p] = Math.min(lowest[p], snap.watermarks[p]);
      });
      for (const [kgText, bytes] of Object.entries(snap.groups)) {
        const kg = Number(kgText);
        if (kg < start || kg > end) continue;
        const g = decodeGroup(bytes);
        g.outputs.forEach((n, p) => (this.outputs[p * this.maxKeyGroups + kg] = n));
        for (const [name, pos, pipe] of g.sources) {
          // An entry without a pipeline is from before positions were per pipeline: it held for all of them.
          const pipes = pipe === undefined ? pipelines.map((_, p) => p) : pipe < pipelines.length ? [pipe] : [];
          for (const p of pipes) (this.applied[p * this.maxKeyGroups + kg] ??= new Map()).set(name, pos);
        }
        g.operators.forEach((state, p) => {
          if (state !== null && state !== undefined && p < pipelines.length) this.operators[p].restore(kg, state);
        });
      }
    }
    if (snapshots.length === 0) return;
    this.operators.forEach((op, p) => {
      this.watermarks[p] = lowest[p];
      op.restoreWatermark(lowest[p]);
    });
    const waiting = snapshots.flatMap((snap) => (snap.waiting ?? []).filter(([, kg]) => kg >= start && kg <= end));
    // Records a stage re-keyed by keyBy() had not taken in yet, where keepKey() begins that stage now (its
    // key was the one before's): taken in at once, in the order the shuffle would have taken them.
    for (const [pipe, kg, ts, , , key, value] of inStageOrder(waiting.filter(([pipe]) => this.links.chained[pipe]))) {
      this.applyChained(pipe, kg, key, ts, value);
    }
    this.shuffle?.restore(this.watermarks, waiting.filter(([pipe]) => !this.links.chained[pipe]));
  }

  private isDuplicate(pipe: number, kg: number, src: number, pos: number): boolean {
    const source = this.sources.get(src);
    if (source === undefined || !source.tracked) return false;
    const at = pipe * this.maxKeyGroups + kg;
    let applied = this.applied[at];
    if (applied === undefined) this.applied[at] = applied = new Map();
    const last = applied.get(source.name);
    if (last !== undefined && pos <= last) return true;
    applied.set(source.name, pos);
    return false;
  }

  private outputFor(pipe: number): OperatorOutput {
    return {
      result: (kg, value, key, _src, _pos, ts, behind) => {
        const n = ++this.outputs[pipe * this.maxKeyGroups + kg];
        // The watermark as it stood before the step in progress (the least a next stage may have heard), or
        // the one a timer set behind the watermark fires as of.
        if (this.shuffle?.feeds(pipe)) this.shuffle.emit(pipe, kg, n, ts, behind ?? this.watermarks[pipe], value);
        const next = this.links.chainedTo[pipe];
        if (next >= 0) this.applyChained(next, kg, key, ts, value);
        else if (!this.links.continued[pipe]) this.out.result(pipe, kg, n, value);
      },
      late: (kg, event) => this.out.late(pipe, kg, ++this.outputs[pipe * this.maxKeyGroups + kg], event),
      touch: (kg) => this.touch(kg, pipe),
      problem: (problem, kg, src, pos) => {
        this.out.problem(pipe, src, kg, pos, problem);
        if (this.failFast) this.failed = true;
      },
    };
  }
}

/** The keys an operator's snapshot of a key-group holds: window operators snapshot an array of keys, the keyed process operator `{ keys }`. */
function keysIn(data: unknown): number {
  if (Array.isArray(data)) return data.length;
  const { keys } = (data ?? {}) as { keys?: unknown[] };
  return keys?.length ?? 0;
}
