/**
 * One engine's run on an actor thread: it reads frames from its input ring in order, logs them to its
 * write-ahead log (when durable), applies them, and writes results, late events and problems to its output
 * ring — only once their input is durable, so no result ever exists for input a crash could lose.
 * Watermarks, barriers and the end marker arrive in band, between events. The engine talks to it over a
 * MessagePort of its own (the control plane, with comlink), and closes that port when it lets the thread go.
 */
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../shared/control-endpoint.js';
import { Activity } from '../shared/activity.js';
import { Actor, stageLinks, type Control } from './actor.js';
import { ProcessingClock } from './processing-clock.js';
import { InputAhead } from './input-ahead.js';
import type { ActorControl, ActorFailure, ActorInit, Replayed } from '../shared/actor-protocol.js';
import { FrameView } from '../shared/codec/frame.js';
import { FrameSender, type Unsendable } from '../shared/codec/frame-sender.js';
import { Kind } from '../shared/codec/records.js';
import { encodeSnapshot, readSnapshot, writeSnapshot } from '../shared/durability/snapshot-file.js';
import { listSegments, snapshotDir, snapshotFiles, snapshotPath, walDir } from '../shared/durability/state-layout.js';
import { readSegment, syncForReplay } from '../shared/durability/wal.js';
import { fsyncDir } from '../shared/durability/files.js';
import { bareProblem, unsendableProblem, withoutEvent, type Problem } from '../shared/dead-letter.js';
import { codes, describeThrown } from '../shared/errors.js';
import { afterFailure, handledWhereAwaited, reportedElsewhere } from '../shared/ignore.js';
import { keyGroupRange, stateKeyOf } from '../shared/keygroups.js';
import { createOperator } from './operators/create-operator.js';
import { openBackend, type Backend } from './state/backends.js';
import { loadPipeline } from '../pipeline/pipeline-loader.js';
import { Doorbell } from '../shared/ring/doorbell.js';
import { DurableCounter } from '../shared/ring/durable-counter.js';
import { RingReader } from '../shared/ring/reader.js';
import { WAIT_TIMEOUT_MS } from '../shared/ring/wait.js';
import { RingWriter } from '../shared/ring/writer.js';
import { maxFrameBytes } from '../shared/ring/layout.js';
import { OutputWriter } from './output-writer.js';
import { Shuffle } from './shuffle.js';
import { WalLog } from './wal-log.js';

/** Work the thread does without yielding before it lets control messages in. */
const YIELD_EVERY_MS = 20;
/** How long an actor waiting on other actors (frames to send, or the end of a later stage's input) sleeps between looks. */
const STAGE_POLL_MS = 1;
/** How long the actor copies key-groups for a snapshot between two frames. */
const SNAPSHOT_SLICE_MS = 2;
/** Records of a frame applied at a time when something is to run between them (see applyFrame). */
const APPLY_SLICE = 256;

interface WalTail {
  frames: Uint8Array[];
  tornBytes: number;
  /** The segment new frames go to: the last one there is (a barrier may have started one after the restored checkpoint). */
  lastSegment: number;
}

interface Opened {
  actor: Actor;
  tail: WalTail;
  backend: Backend;
}

export class ActorSession {
  private readonly out: FrameSender;
  private readonly activity: Activity;
  private readonly writer: OutputWriter;
  private readonly log: WalLog;
  /** Pipelines of several stages: the shuffle between them (null when every pipeline has one). */
  private stages: { actor: Actor; shuffle: Shuffle } | null = null;
  /** Snapshot files being written, and their acknowledgements waiting for the write. */
  private readonly writes = new Set<Promise<void>>();
  /** How long the latest barrier itself stopped the actor (header and WAL rotation). */
  private barrierStopMs = 0;
  /** Settles once, when the actor fails for good (failWith); the engine learns it through control.failure(). */
  private readonly failed: Promise<ActorFailure>;
  private failWith!: (f: ActorFailure) => void;
  private readonly opened: Promise<Opened>;
  private closing: Promise<void> | null = null;
  /** Settles once the engine has closed the control port: the thread may then take another engine's run. */
  readonly ended: Promise<void>;

  constructor(private readonly init: ActorInit) {
    this.failed = new Promise<ActorFailure>((resolve) => (this.failWith = resolve));
    const doorbell = new Doorbell(init.doorbell);
    this.out = new FrameSender(new RingWriter(init.output), init.frameRecords, () => doorbell.ring());
    this.log = new WalLog(init, new DurableCounter(init.input));
    /** Text of one batch of NDJSON lines: a fraction of a frame, so that even 3-byte UTF-8 characters fit. */
    const lineBatchBytes = Math.min(64 * 1024, maxFrameBytes(init.output.data.byteLength) / 8);
    this.activity = new Activity(init.activity);
    this.writer = new OutputWriter(this.out, init.pipelines.map((p) => p.name), this.activity, () => this.sealFrame(), lineBatchBytes);
    this.opened = this.open();
    // Why it failed goes to the engine from ready(), which may be asked after it did (a thread that has
    // loaded the module before fails at once).
    this.opened.catch(handledWhereAwaited);
    this.ended = this.serve(init.control);
  }

  /**
   * Answer the engine's control calls on `port` until it closes it: after close() (see ActorControl), when
   * it lets the thread go; an engine that ends the thread closes it too, but only once the thread has ended.
   */
  private async serve(port: MessagePort): Promise<void> {
    Comlink.expose(this.controlObject(), nodeEndpoint(port));
    await new Promise((resolve) => port.once('close', resolve));
  }

  /** Let go of the files the run held, after its end: its WAL segment and its state backend (once). */
  private close(): Promise<void> {
    this.closing ??= this.opened.then(
      async ({ backend }) => {
        this.log.close();
        await backend.close();
      },
      reportedElsewhere, // it never opened: the engine heard why from ready()
    );
    return this.closing;
  }

  private controlObject(): ActorControl {
    return {
      ready: () => this.opened.then(() => null, (err: unknown) => failureOf(err)),
      replay: () => this.opened.then(({ actor, tail }) => this.replayThenRun(actor, tail)),
      outputs: (plan) => this.opened.then(() => this.writer.setPlan(plan)),
      query: (pipe, kg, key) => this.answer((actor) => actor.operators[pipe].query(kg, stateKeyOf(key))),
      operatorState: (pipe) => this.answer((actor) => actor.operators[pipe].queryOperatorState?.() ?? {}),
      failure: () => this.failed,
      close: () => this.close(),
    };
  }

  /**
   * engine.query() (a key's current state) and engine.operatorState(), read between frames, so they
   * reflect every event this actor has applied so far. A throwing query, or an answer that cannot be sent
   * to the calling thread (state holding a function, say), reaches the engine as its message.
   */
  private async answer<T>(read: (actor: Actor) => T): Promise<T> {
    const { actor } = await this.opened;
    try {
      const value = read(actor);
      structuredClone(value);
      return value;
    } catch (err) {
      throw new Error(err instanceof Error ? err.message : describeThrown(err));
    }
  }

  /** Load the pipelines, open the state backend, restore the snapshot and read the WAL tail. */
  private async open(): Promise<Opened> {
    const { init } = this;
    const names = init.pipelines.map((p) => p.name);
    const pipelines = await Promise.all(init.pipelines.map((p) => loadPipeline(p.name, p.moduleUrl)));
    const backend = await openBackend(init.stateBackend, init.actor, init.maxKeyGroups);
    try {
      const actor = new Actor(names, stageLinks(pipelines), (pipe, output) => createOperator(pipelines[pipe], output, backend.stores(pipe)), this.writer, init.failFast, init.maxKeyGroups, this.activity);
      if (init.shuffle) {
        const shuffle = new Shuffle(init.shuffle, pipelines, init.maxKeyGroups, init.frameRecords, actor);
        actor.connect(shuffle);
        this.stages = { actor, shuffle };
      }
      this.restoreFrom(actor, names);
      return { actor, tail: this.readWal(), backend };
    } catch (err) {
      await backend.close().catch(afterFailure);
      throw err;
    }
  }

  /**
   * Seal output records into frames, what the output writer gathers first; one that no frame can carry — too
   * big for the ring, or not encodable (a cyclic or too deeply nested object, a function) — becomes a problem
   * report instead.
   */
  private seal(): void {
    this.writer.flush();
    this.sealFrame();
  }

  /**
   * Seal the records in the builder as they are (the output writer calls this when the builder fills). What no
   * frame can carry is reported instead (a dead letter without its event); a report that cannot be carried
   * either (its key is what cannot be) goes without its key and event, its detail cut short; and if even that
   * cannot, the actor fails rather than lose it.
   */
  private sealFrame(): void {
    const { out } = this;
    const unsendable: Unsendable[] = [];
    out.seal((u) => unsendable.push(u));
    if (unsendable.length === 0) return;
    for (const u of unsendable) out.builder.error(u.pipe, u.src, u.kg, u.pos, u.key, reported(u));
    const unreported: Unsendable[] = [];
    out.seal((u) => unreported.push(u));
    if (unreported.length === 0) return;
    for (const u of unreported) out.builder.error(u.pipe, u.src, u.kg, u.pos, undefined, bareProblem(u.value as Problem));
    out.seal((u) => this.failWith({ message: `a problem report no frame can carry: ${(u.value as Problem).detail.slice(0, 200)}`, code: codes.TOO_LARGE }));
  }

  /** fsync, then acknowledge the frames and release the outputs they produced (to the next stages too). */
  private async commit(): Promise<void> {
    this.log.acknowledge();
    const { stages } = this;
    if (stages) {
      stages.shuffle.forward(stages.actor.currentWatermarks());
      stages.shuffle.flush();
    }
    this.seal();
    await this.out.push();
  }

  /**
   * A barrier: note the state's header and rotate the WAL now; the key-groups are copied a slice at a
   * time between frames (see Actor.beginSnapshot), so ingestion is not held up for the whole state.
   */
  private beginSnapshot(actor: Actor, checkpoint: number): void {
    if (actor.snapshotting) this.finishSnapshot(actor, Infinity); // one at a time: complete the previous one
    const t0 = performance.now();
    const { stages, init } = this;
    // Later stages: wait for every other actor's barrier, so the snapshot holds what they sent before theirs.
    stages?.shuffle.align(checkpoint, actor.currentWatermarks(), () => this.log.sync());
    actor.beginSnapshot(checkpoint, keyGroupRange(init.actor, init.workers, init.maxKeyGroups));
    stages?.shuffle.resume();
    this.log.rotate(checkpoint);
    this.barrierStopMs = performance.now() - t0;
  }

  /** Copy more key-groups; once all are, write the file (off this thread) and then acknowledge. */
  private finishSnapshot(actor: Actor, budgetMs: number): void {
    const snapshot = actor.captureSome(budgetMs);
    if (snapshot === null) return;
    const pauseMs = Math.max(this.barrierStopMs, actor.longestStopMs);
    const { durable } = this.init;
    if (!durable) {
      actor.emitBarrierAck(snapshot.checkpoint, { bytes: 0, keys: actor.capturedKeys, pauseMs });
      return;
    }
    const bytes = encodeSnapshot(snapshot);
    const write: Promise<void> = writeSnapshot(snapshotPath(durable.stateDir, snapshot.checkpoint, this.init.actor), bytes).then(
      () => {
        this.writes.delete(write);
        actor.emitBarrierAck(snapshot.checkpoint, { bytes: bytes.length, keys: actor.capturedKeys, pauseMs });
        // Send it now, not when the next frame comes (an idle actor may wait up to its poll interval);
        // commit() syncs the WAL first, so no output goes ahead of its input's durability.
        this.commit().catch((err: unknown) => this.fatal(err));
      },
      (err: unknown) => {
        this.writes.delete(write);
        this.failWith(failureOf(err, 'cannot write snapshot: '));
      },
    );
    this.writes.add(write);
  }

  /** Complete any snapshot in progress, including its write (before the end, or when idle). */
  private async settleSnapshots(actor: Actor): Promise<void> {
    this.finishSnapshot(actor, Infinity);
    await Promise.all([...this.writes]);
  }

  /**
   * Apply one frame; act on barriers in it; returns true at the end marker. `between` runs between slices of
   * APPLY_SLICE records (the actor reads and logs the input that came meanwhile).
   */
  private applyFrame(actor: Actor, frame: FrameView, replaying: boolean, between?: () => void): boolean {
    let from = 0;
    while (from < frame.count) {
      const to = between === undefined ? frame.count : Math.min(from + APPLY_SLICE, frame.count);
      const { control, next }: { control: Control; next: number } = actor.apply(frame, from, replaying, to);
      from = next;
      if (control.kind === 'barrier') this.beginSnapshot(actor, control.checkpoint);
      else if (control.kind === 'end') return true;
      else if (between !== undefined && from < frame.count) between();
    }
    return false;
  }

  /**
   * Read and check what the WAL holds after the restored checkpoint, at start (so corruption stops
   * start()), cutting off a torn tail so new records follow intact ones, and make it durable before it is
   * replayed (see syncForReplay).
   */
  private readWal(): WalTail {
    const { durable, workers, actor } = this.init;
    const from = durable?.restore?.checkpoint ?? 0;
    if (!durable) return { frames: [], tornBytes: 0, lastSegment: from };
    const dir = walDir(durable.stateDir, workers, actor);
    const segments = listSegments(dir).filter(([id]) => id >= from);
    const frames: Uint8Array[] = [];
    let tornBytes = 0;
    segments.forEach(([, path], i) => {
      const read = readSegment(path, i === segments.length - 1);
      frames.push(...read.frames);
      if (read.tornBytes > 0) tornBytes = read.tornBytes;
      syncForReplay(path, read.tornBytes > 0 ? read.frames.reduce((n, f) => n + 8 + f.length, 0) : null);
    });
    // The segments' names too: a run killed between making a segment and fsyncing its directory.
    if (segments.length > 0) fsyncDir(dir);
    return { frames, tornBytes, lastSegment: segments.at(-1)?.[0] ?? from };
  }

  /** Re-apply the WAL tail: outputs it produces carry the same numbers as the first time. */
  private replay(actor: Actor, tail: WalTail): Replayed {
    const frame = new FrameView();
    // Decode from an aligned copy: a frame's typed-array columns need 8-byte alignment.
    for (const bytes of tail.frames) this.applyFrame(actor, frame.decode(new Uint8Array(bytes)), true);
    return { frames: tail.frames.length, tornBytes: tail.tornBytes, watermarks: actor.currentWatermarks() };
  }

  private restoreFrom(actor: Actor, names: string[]): void {
    const { durable } = this.init;
    const restore = durable?.restore;
    if (!durable || !restore) return;
    const dir = snapshotDir(durable.stateDir, restore.checkpoint);
    const files = snapshotFiles(durable.stateDir, restore.checkpoint);
    if (files.length !== restore.workers) throw Object.assign(new Error(`checkpoint ${restore.checkpoint} in ${dir} has ${files.length} snapshot files, expected ${restore.workers}`), { code: codes.CORRUPT });
    actor.restore(files.map((path) => readSnapshot(path)), this.init.actor, this.init.workers, names);
  }

  /** Log and apply a processing-time tick, if the actor's operators read the clock and it moved. */
  private tick(actor: Actor, clock: ProcessingClock, frame: FrameView): void {
    const bytes = clock.tick();
    if (bytes === null) return;
    this.log.appendOwn(bytes);
    this.applyFrame(actor, frame.decode(bytes), false);
  }

  private async run(actor: Actor): Promise<void> {
    const { log, stages } = this;
    const reader = new RingReader(this.init.input);
    // Reading ahead lets the actor acknowledge (sync) frames before it applies them; without a WAL an
    // acknowledgement waits for nothing, and reading ahead only costs (measured: 2-9 % more CPU per event).
    const input = new InputAhead(reader, (bytes) => log.append(bytes), log.writing && !actor.usesProcessingTime);
    const frame = new FrameView();
    const clock = new ProcessingClock(actor.usesProcessingTime);
    let slice = performance.now();
    this.tick(actor, clock, frame);
    const shuffled = stages ? () => stages.shuffle.hasInput() : undefined;
    const tick = () => this.tick(actor, clock, frame);
    // While a frame is applied: what comes meanwhile is logged, and acknowledged once the ring is empty.
    const takeMore = () => {
      if (!reader.hasData()) return;
      input.readMore();
      if (!reader.hasData()) log.acknowledge();
    };
    for (;;) {
      if (stages) {
        stages.shuffle.drain();
        if (stages.shuffle.backlogged) {
          // Other actors are slow to take what this one sends them: send, and take in theirs, before reading more.
          await this.commit();
          await reader.waitForData(STAGE_POLL_MS, shuffled);
          continue;
        }
      }
      const bytes = input.next(tick);
      if (bytes === null) {
        await this.commit();
        if (actor.snapshotting) {
          // Idle: copy key-groups without waiting, a slice at a time so new input is seen soon.
          this.finishSnapshot(actor, SNAPSHOT_SLICE_MS * 5);
          continue;
        }
        // Idle: sleep until input comes (from the calling thread or another actor) or a processing-time
        // timer (or TTL) is due; briefly, while frames for other actors wait for room.
        const sending = stages !== null && !stages.shuffle.flush();
        await reader.waitForData(clock.waitMs(actor.nextProcessingTime(), sending ? STAGE_POLL_MS : WAIT_TIMEOUT_MS), shuffled);
        if (Date.now() >= actor.nextProcessingTime()) tick();
        slice = performance.now();
        continue;
      }
      // The last frame sent so far is logged: the calling thread waits to hear its input is durable (ingest()
      // resolves then), so it hears it now, and goes on while the frames are applied, rather than after.
      if (!reader.hasData()) log.acknowledge();
      const ended = this.applyFrame(actor, frame.decode(bytes), false, takeMore);
      if (ended) {
        await this.settleSnapshots(actor);
        actor.finish();
        await this.endStages(reader);
        actor.emitEnd();
        await this.commit();
        return;
      }
      if (actor.snapshotting) this.finishSnapshot(actor, SNAPSHOT_SLICE_MS);
      if (log.due()) await this.commit();
      // Stopping on the first error: report it and take nothing more; the main thread ends this thread.
      if (actor.failed) {
        await this.commit();
        return;
      }
      if (performance.now() - slice > YIELD_EVERY_MS) {
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
    }
  }

  /**
   * At the end of input, a later stage ends once every producer's earlier stage has (see Actor.finish): send
   * what is left, take in what others send, until each later stage here has reached the end.
   */
  private async endStages(reader: RingReader): Promise<void> {
    if (this.stages === null) return;
    const { shuffle, actor } = this.stages;
    for (;;) {
      await this.commit();
      shuffle.drain();
      if (shuffle.ended) {
        // The stages here just fired their last windows: one more commit sends what they emitted to the
        // stages after them (and +∞), and the end may come only once all of it is out.
        await this.commit();
        if (shuffle.flush()) return;
      }
      if (actor.failed) return;
      await reader.waitForData(STAGE_POLL_MS, () => shuffle.hasInput());
    }
  }

  /** Replay the WAL tail, then read the input ring until the end marker. */
  private async replayThenRun(actor: Actor, tail: WalTail): Promise<Replayed> {
    try {
      const replayed = this.replay(actor, tail);
      this.log.open(tail.lastSegment);
      await this.commit();
      this.run(actor).catch((err: unknown) => this.fatal(err));
      return replayed;
    } catch (err) {
      this.fatal(err);
      return { frames: 0, tornBytes: 0, watermarks: [] };
    }
  }

  /** A WAL or snapshot that cannot be written (a full disk, a read-only directory) or read: stop, acknowledging nothing more. */
  private fatal(err: unknown): void {
    this.failWith(failureOf(err));
  }
}

/** The problem report of an output record no frame can carry. */
function reported(u: Unsendable): Problem {
  // A dead letter whose event cannot be carried (a result the next stage could not be sent is its own event).
  if (u.kind === Kind.ERROR) return withoutEvent(u.value as Problem, u);
  const what = u.kind === Kind.RESULT ? `result #${u.pos} of key-group ${u.kg}`
    : u.kind === Kind.RESULT_LINES ? `a batch of ${u.pos} results as NDJSON` : 'an output record';
  return unsendableProblem(u, what, 'output');
}

/** An error as the engine hears of it: its message (after `prefix`), and its code if it has one. */
function failureOf(err: unknown, prefix = ''): ActorFailure {
  const message = prefix + (err instanceof Error ? err.message : describeThrown(err));
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? { message, code } : { message };
}
