/**
 * Stages after the first (Pipeline.keyBy after a stateful part): a stage's results go, re-keyed, from actor
 * to actor through SPSC rings, one per (producer actor, consumer actor), never through the calling thread.
 *
 * Producing: the next stage's key selector runs here, on each result, and the result goes to the actor that
 * owns its key-group, with its time (a window result's end − 1, a process() output the time of the event or
 * timer that emitted it, a join's pair likewise), its key-group here and its number here (per pipeline and
 * key-group, as the outputs are numbered). After the results due at a watermark the producer forwards that
 * watermark on every ring. Frames go out when the actor commits, as its outputs do.
 *
 * Consuming, in an order that depends on the data alone: records wait until every producer has forwarded a
 * watermark w; then those with time <= w are applied in the order (time, upstream key-group, upstream
 * number), the stage moving to just below each record's time before it, and then to w. A result on time
 * (above the watermark its producer had before the step that made it, which is at least what it forwarded)
 * comes before its producer's watermark passes its time, so by the time every producer is at w every such
 * record with time <= w is here. A result at or below that watermark is late for the next stage: the
 * producer says so (emit), and the record takes its place just after the on-time ones at that watermark,
 * where the stage (moved there) treats it as late. The same sequence, and the same results, for any worker
 * count and any timing. A join of two pipelines' results is a stage fed by both: a producer forwards it the
 * least of the two stages' watermarks it holds, which keeps every step of that argument.
 *
 * Checkpoints (Flink's aligned barriers): at a barrier an actor sends it on every ring after what it sent
 * before it, then takes in from each ring up to that ring's barrier and no further, until every producer's
 * has come. Its snapshot then holds every record sent before the barrier (applied, or waiting: see
 * waitingRecords), and none sent after; after a recovery the producers send exactly those again.
 */
import { FrameSender, type Unsendable } from '../shared/codec/frame-sender.js';
import { FrameView } from '../shared/codec/frame.js';
import { Kind } from '../shared/codec/records.js';
import { unsendableProblem, untimedResultProblem, type Problem } from '../shared/dead-letter.js';
import { codes, describeThrown } from '../shared/errors.js';
import { checkKey } from '../shared/key-check.js';
import { FILTERED, StepFailure, runSteps } from '../shared/stateless-steps.js';
import { actorOf } from '../shared/keygroups.js';
import { CONSUMER_WAITING, WRITE, type RingBuffers } from '../shared/ring/layout.js';
import { RingReader } from '../shared/ring/reader.js';
import { wake } from '../shared/ring/wait.js';
import { MinHeap } from '../shared/min-heap.js';
import { RingWriter } from '../shared/ring/writer.js';
import { isShuffled, joinedUpstream, type Pipeline } from '../pipeline/pipeline.js';
import { LEFT, RIGHT } from '../pipeline/join-input.js';

/**
 * A record waiting in a snapshot: [pipe, key-group, time, upstream key-group, upstream number, key, value,
 * and for a late record the producer's watermark it came behind].
 */
export type WaitingRecord = [pipe: number, kg: number, ts: number, up: number, n: number, key: unknown, value: unknown, behind?: number];

/** An actor's rings to and from every actor (itself included), for pipelines of several stages. */
export interface ShuffleRings {
  /** From each actor, by index, to this one. */
  inbound: RingBuffers[];
  /** From this actor to each actor. */
  outbound: RingBuffers[];
  /** Each actor's input ring control: touched to wake the actor when a frame reaches it. */
  wakes: SharedArrayBuffer[];
}

/** What the actor does with a later stage's input. */
export interface StageTarget {
  /** Apply one record to stage `pipe` (`wm`: the stage's watermark before it). */
  applyStage(pipe: number, kg: number, key: unknown, ts: number, wm: number, value: unknown): void;
  /** Move stage `pipe` to watermark `wm`. */
  advanceStage(pipe: number, wm: number): void;
  /** A result of stage `pipe` (key-group `kg`, time `ts`) that cannot go on to the next stage. */
  stageProblem(problem: Problem, pipe: number, kg: number, ts: number): void;
}

interface Waiting {
  /**
   * Where the record goes in its stage's input: its time if on time, else (late) the producer's watermark it
   * came behind, just after the on-time records of that time.
   */
  at: number;
  late: boolean;
  ts: number;
  /** Key-group and number of the result upstream. */
  up: number;
  n: number;
  kg: number;
  key: unknown;
  value: unknown;
}

/**
 * The order a stage takes its input in: by `at` (the heap's number), then a record on time before a late
 * one of the same `at`, then by origin.
 */
const ranksBefore = (a: Waiting, b: Waiting) => (a.late !== b.late ? b.late : a.up !== b.up ? a.up < b.up : a.n < b.n);
/** Whether every producer being past `least` makes `w` due: an on-time record at `least` is, a late one behind it is not yet. */
const isDue = (w: Waiting, least: number) => w.at < least || (w.at === least && !w.late);

const float = new Float64Array(1);
const bits = new BigInt64Array(float.buffer);
/** The largest number below `t` (finite): advancing to it fires what is due before time t, and nothing at t. */
function justBelow(t: number): number {
  if (t === 0) return -Number.MIN_VALUE;
  float[0] = t;
  bits[0] += t > 0 ? -1n : 1n;
  return float[0];
}

/**
 * Where a stage's results go: to stage `to`, as its only input (-1), or as one input of its join (a later
 * stage's join reads its other input's results with from(): see Pipeline.joined).
 */
interface Feed {
  to: number;
  side: -1 | typeof LEFT | typeof RIGHT;
  /** Whose filter/map and key selector the results go through: stage `to`'s, or for its right input the join's other pipeline's. */
  input: Pipeline;
  /** Put before what a dead letter says went wrong ('' but for a join's right input). */
  label: string;
}

/** Frames an actor may have queued for other actors before it stops taking input until they go. */
const MAX_QUEUED_FRAMES = 64;
/** How long align() sleeps between looks at the rings. */
const ALIGN_NAP_MS = 0.2;

export class Shuffle {
  private readonly senders: FrameSender[];
  private readonly readers: RingReader[];
  private readonly frame = new FrameView();
  /** Per pipe: where its results go (its next stage, the pipelines that read it with from(), joins that do). */
  private readonly next: Feed[][];
  /** Per pipe fed by others: the pipes that feed it (two for a join of two pipelines' results). */
  private readonly inputs: number[][];
  /** Per pipe fed by others: the watermark forwarded to it last, the least of its inputs'. */
  private readonly forwarded: number[];
  /** Per pipe fed by another: per producer, the watermark it forwarded last; null for other pipes. */
  private readonly heard: Array<Float64Array | null>;
  /** Per pipe fed by another: its watermark (the least heard, once applied). */
  private readonly stageWatermark: number[];
  /** Per pipe fed by another: its records not applied yet (their time is past its watermark, or they just came). */
  private waiting: Array<MinHeap<Waiting>>;
  /** Per producer: the checkpoint whose barrier came from it (its ring is not read past it), or -1. */
  private readonly barrierFrom: Int32Array;
  /** What align() sleeps on between looks (nothing notifies it: a plain short sleep). */
  private readonly nap = new Int32Array(new SharedArrayBuffer(4));

  constructor(rings: ShuffleRings, private readonly pipelines: readonly Pipeline[], private readonly maxKeyGroups: number,
              frameRecords: number, private readonly target: StageTarget) {
    const workers = rings.outbound.length;
    this.senders = rings.outbound.map((ring, actor) => {
      const control = new Int32Array(rings.wakes[actor]);
      return new FrameSender(new RingWriter(ring), frameRecords, () => wake(control, WRITE, CONSUMER_WAITING));
    });
    this.readers = rings.inbound.map((ring) => new RingReader(ring));
    this.next = pipelines.map(() => []);
    this.inputs = pipelines.map(() => []);
    pipelines.forEach((q, to) => {
      if (!isShuffled(q)) return;
      const right = joinedUpstream(q);
      const feeds: Array<[Pipeline, Feed['side']]> = right === null ? [[q.upstream!, -1]] : [[q.upstream!, LEFT], [right, RIGHT]];
      for (const [from, side] of feeds) {
        const pipe = pipelines.indexOf(from);
        if (pipe < 0) throw new Error(`stage '${q.name}' runs without '${from.name}', which feeds it`);
        const input = side === RIGHT ? q.joined!.other : q;
        this.next[pipe].push({ to, side, input, label: side === RIGHT ? `the joined input '${input.name}': ` : '' });
        this.inputs[to].push(pipe);
      }
    });
    this.forwarded = pipelines.map(() => -Infinity);
    this.heard = pipelines.map((p) => (isShuffled(p) ? new Float64Array(workers).fill(-Infinity) : null));
    this.stageWatermark = pipelines.map(() => -Infinity);
    this.waiting = pipelines.map(() => new MinHeap(ranksBefore));
    this.barrierFrom = new Int32Array(workers).fill(-1);
  }

  /** Whether `pipe` is a later stage, whose input comes from here. */
  fed(pipe: number): boolean {
    return this.heard[pipe] !== null;
  }

  /** Whether `pipe`'s results go to a next stage, a reader or a join (through emit). */
  feeds(pipe: number): boolean {
    return this.next[pipe].length > 0;
  }

  /**
   * Result number `n` of stage `pipe` in key-group `kg`, at time `ts`: to the actor of its key in the next
   * stage. `floor` is the stage's watermark before the step that made the result, which this actor may have
   * forwarded already: a result above it is on time for the next stage; one at or below it (a re-firing
   * within allowed lateness, a process() output behind the watermark) is late there, decided here, where it
   * depends on the data alone. A late record carries `floor` in its watermark field.
   */
  emit(pipe: number, kg: number, n: number, ts: number, floor: number, value: unknown): void {
    for (const feed of this.next[pipe]) this.emitTo(feed, kg, n, ts, floor, value);
  }

  /**
   * One result to stage `to`: through its filter/map (a pipeline reading with from()), then its key selector;
   * to a join's right input through the other pipeline's, tagged with its side (a JoinInput), as the router
   * tags a join's inputs from the sources. A join's inputs are numbered apart (2n, 2n + 1), so that results
   * of both with one number and key-group still take a fixed order.
   */
  private emitTo({ to, side, input, label }: Feed, kg: number, n: number, ts: number, floor: number, result: unknown): void {
    const value = runSteps(input.stages, result);
    if (value === FILTERED) return;
    if (value instanceof StepFailure) {
      return this.target.stageProblem({ code: codes.USER_FUNCTION, stage: value.stage, detail: label + describeThrown(value.error), event: value.value }, to, kg, ts);
    }
    if (Number.isNaN(ts)) return this.target.stageProblem(untimedResultProblem(value), to, kg, NaN);
    let key: unknown;
    try {
      key = input.keySelector!(value);
    } catch (err) {
      return this.target.stageProblem({ code: codes.USER_FUNCTION, stage: 'keyBy', detail: label + describeThrown(err), event: value }, to, kg, ts);
    }
    const checked = checkKey(key, this.maxKeyGroups);
    if ('code' in checked) return this.target.stageProblem({ code: checked.code, stage: 'keyBy', detail: label + checked.detail, event: value }, to, kg, ts);
    const actor = actorOf(checked.kg, this.senders.length, this.maxKeyGroups);
    const builder = this.senders[actor].builder;
    builder.event(to, kg, checked.kg, ts, ts > floor ? NaN : floor, side < 0 ? n : 2 * n + side, checked.key, side < 0 ? value : [side, value]);
    if (builder.full) this.seal(actor);
  }

  /**
   * The watermark of every stage fed by others, as this actor holds its inputs' now (the least of them, for a
   * join of two pipelines' results): forwarded where it moved.
   */
  forward(watermarks: readonly number[]): void {
    for (let to = 0; to < this.inputs.length; to++) {
      const inputs = this.inputs[to];
      if (inputs.length === 0) continue;
      let wm = watermarks[inputs[0]];
      for (let i = 1; i < inputs.length; i++) wm = Math.min(wm, watermarks[inputs[i]]);
      if (wm <= this.forwarded[to]) continue;
      this.forwarded[to] = wm;
      this.senders.forEach((s, actor) => {
        s.builder.watermark(to, wm);
        if (s.builder.full) this.seal(actor);
      });
    }
  }

  /** Seal what is gathered and write what fits; true when nothing is left to send. */
  flush(): boolean {
    let sent = true;
    for (let actor = 0; actor < this.senders.length; actor++) {
      this.seal(actor);
      if (!this.senders[actor].tryPush()) sent = false;
    }
    return sent;
  }

  /** Take in what every producer sent (up to a barrier), and apply what has become due. */
  drain(): void {
    if (this.takeIn()) this.release();
  }

  /** Whether a ring this actor reads (not past a barrier) holds a frame: checked after announcing a sleep. */
  hasInput(): boolean {
    return this.readers.some((r, producer) => this.barrierFrom[producer] < 0 && r.hasData());
  }

  /** Frames queued for other actors beyond this, and the actor stops taking input until they go (backpressure). */
  get backlogged(): boolean {
    let queued = 0;
    for (const s of this.senders) queued += s.queued;
    return queued > MAX_QUEUED_FRAMES;
  }

  /** Read every ring (up to a producer's barrier) into `waiting` and `heard`; true if anything came. */
  private takeIn(): boolean {
    let came = false;
    for (let producer = 0; producer < this.readers.length; producer++) {
      while (this.barrierFrom[producer] < 0) {
        const bytes = this.readers[producer].next();
        if (bytes === null) break;
        came = true;
        this.take(producer, this.frame.decode(bytes));
      }
    }
    return came;
  }

  /**
   * Checkpoint `checkpoint`'s barrier, reached in this actor's input (`watermarks`: its pipelines' now): send
   * it after everything before it, then take in from every producer up to its barrier. Blocks the thread
   * until then (every actor gets there: the barrier is in every actor's input); `before` runs first (the
   * WAL's sync: nothing goes to the next stage before its input is durable).
   */
  align(checkpoint: number, watermarks: readonly number[], before: () => void): void {
    before();
    this.forward(watermarks);
    this.senders.forEach((s, actor) => {
      s.builder.barrier(checkpoint);
      this.seal(actor);
    });
    // Take in, but apply nothing: a later stage that fired now would send its next stage results after its
    // own barrier that the snapshot counts as sent. What becomes due waits in the snapshot, and is applied
    // right after it (resume).
    for (;;) {
      const sent = this.flush();
      this.takeIn();
      if (sent && this.barrierFrom.every((c) => c === checkpoint)) return;
      Atomics.wait(this.nap, 0, 0, ALIGN_NAP_MS);
    }
  }

  /** After the snapshot began: apply what became due while aligning, and read every ring past its barrier again. */
  resume(): void {
    this.barrierFrom.fill(-1);
    this.release();
  }

  /** The records waiting for their stage's watermark, for a snapshot taken now. */
  waitingRecords(): WaitingRecord[] {
    return this.waiting.flatMap((heap, pipe) => heap.values().map((w): WaitingRecord => {
      const record: WaitingRecord = [pipe, w.kg, w.ts, w.up, w.n, w.key, w.value];
      if (w.late) record.push(w.at);
      return record;
    }));
  }

  /**
   * After a restore: each later stage's watermark as restored (every producer is there too: they snapshotted
   * past it), and the waiting records of the key-groups this actor owns now.
   */
  restore(watermarks: readonly number[], records: readonly WaitingRecord[]): void {
    this.heard.forEach((heard, pipe) => {
      if (heard === null) return;
      heard.fill(watermarks[pipe]);
      this.stageWatermark[pipe] = watermarks[pipe];
    });
    this.waiting = this.waiting.map(() => new MinHeap(ranksBefore));
    for (const [pipe, kg, ts, up, n, key, value, behind = NaN] of records) this.wait(pipe, waiting(ts, behind, up, n, kg, key, value));
  }

  /** Whether every later stage on this actor has been moved to the end of input (+∞). */
  get ended(): boolean {
    return this.heard.every((h, pipe) => h === null || this.stageWatermark[pipe] === Infinity);
  }

  private take(producer: number, f: FrameView): void {
    for (let i = 0; i < f.count; i++) {
      const pipe = f.pipe[i];
      const kind = f.kind[i];
      if (kind === Kind.EVENT) {
        this.wait(pipe, waiting(f.ts[i], f.wm[i], f.src[i], f.pos[i], f.kg[i], f.keys[i], f.values[i]));
      } else if (kind === Kind.WATERMARK) {
        const heard = this.heard[pipe]!;
        if (f.wm[i] > heard[producer]) heard[producer] = f.wm[i];
      } else if (kind === Kind.BARRIER) {
        // The last record of its frame (align seals it so): nothing after it is taken before the snapshot.
        this.barrierFrom[producer] = f.pos[i];
      }
    }
  }

  /**
   * Apply, stage by stage, the records every producer's watermark has made due, in order, and move the
   * stage on. Before each record the stage moves to just below its time (a late one: to the watermark it
   * came behind), so what fires between two records is the same however the watermarks arrived.
   */
  private release(): void {
    this.heard.forEach((heard, pipe) => {
      if (heard === null) return;
      let least = Infinity;
      for (const wm of heard) least = Math.min(least, wm);
      if (least <= this.stageWatermark[pipe]) return;
      const waiting = this.waiting[pipe];
      while (waiting.size > 0 && isDue(waiting.peek()!, least)) {
        const w = waiting.pop()!;
        this.advance(pipe, w.late ? w.at : justBelow(w.at));
        this.target.applyStage(pipe, w.kg, w.key, w.ts, this.stageWatermark[pipe], w.value);
      }
      this.advance(pipe, least);
    });
  }

  private wait(pipe: number, w: Waiting): void {
    this.waiting[pipe].push(w.at, w);
  }

  private advance(pipe: number, wm: number): void {
    if (wm <= this.stageWatermark[pipe]) return;
    this.stageWatermark[pipe] = wm;
    this.target.advanceStage(pipe, wm);
  }

  private seal(actor: number): void {
    this.senders[actor].seal(this.unsendable);
  }

  /** A result no frame can carry (too large, or not encodable): a dead letter of the next stage. */
  private readonly unsendable = (u: Unsendable): void => {
    this.target.stageProblem({ ...unsendableProblem(u, this.origin(u.pipe, u.src, u.pos), 'route'), key: u.key, event: u.value }, u.pipe, u.kg, NaN);
  };

  /** Where a record for stage `to` came from, as a dead letter says it (a join's inputs are numbered apart: see emitTo). */
  private origin(to: number, up: number, pos: number): string {
    const joined = this.pipelines[to].joined;
    if (joined === null) return `result #${pos} of key-group ${up}`;
    const side = pos % 2;
    return `result #${(pos - side) / 2} of key-group ${up}${side === RIGHT ? ` of the joined input '${joined.other.name}'` : ''}`;
  }
}

/** Waiting records in the order their stage takes them in: by `at`, then as ranksBefore puts them. */
export function inStageOrder(records: readonly WaitingRecord[]): WaitingRecord[] {
  const heap = new MinHeap<{ record: WaitingRecord; w: Waiting }>((a, b) => ranksBefore(a.w, b.w));
  for (const record of records) {
    const [, kg, ts, up, n, key, value, behind = NaN] = record;
    const w = waiting(ts, behind, up, n, kg, key, value);
    heap.push(w.at, { record, w });
  }
  const out: WaitingRecord[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item.record);
  return out;
}

/** A record as it waits: late when its producer sent its watermark `behind` with it (NaN: on time). */
function waiting(ts: number, behind: number, up: number, n: number, kg: number, key: unknown, value: unknown): Waiting {
  const late = !Number.isNaN(behind);
  return { at: late ? behind : ts, late, ts, up, n, kg, key, value };
}
