/**
 * An actor: one long-lived worker thread that alone owns the state of its key-groups. It reads frames
 * from its input ring in order, logs them to its write-ahead log (when durable), applies them, and
 * writes results, late events and problems to its output ring — only once their input is durable, so
 * no result ever exists for input a crash could lose. Watermarks, barriers and the end marker arrive in
 * band, between events.
 */
import { parentPort } from 'node:worker_threads';
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
import { WalWriter, readSegment, syncForReplay } from '../shared/durability/wal.js';
import { fsyncDir } from '../shared/durability/files.js';
import { bareProblem, unsendableProblem, withoutEvent, type Problem } from '../shared/dead-letter.js';
import { codes, describeThrown } from '../shared/errors.js';
import { keyGroupRange, stateKeyOf } from '../shared/keygroups.js';
import { createOperator } from './operators/create-operator.js';
import { openBackend } from './state/backends.js';
import { loadPipeline } from '../pipeline/pipeline-loader.js';
import { Doorbell } from '../shared/ring/doorbell.js';
import { DurableCounter } from '../shared/ring/durable-counter.js';
import { RingReader } from '../shared/ring/reader.js';
import { WAIT_TIMEOUT_MS } from '../shared/ring/wait.js';
import { RingWriter } from '../shared/ring/writer.js';
import { maxFrameBytes } from '../shared/ring/layout.js';
import { OutputWriter } from './output-writer.js';
import { Shuffle } from './shuffle.js';
import { markEngineThread } from '../shared/engine-thread.js';

// The first message, not workerData: the thread starts before the engine has laid out its rings, and
// loads its modules meanwhile (see calling-thread/actor-thread.ts). Messages after it wait in the port
// for Comlink's listener (added at the end).
const init = await new Promise<ActorInit>((resolve) => parentPort!.once('message', resolve));
markEngineThread('actor');

// process.exit() in a worker thread ends that thread, not the process. Called by a user function, it
// throws instead, so the call is rolled back and reported as a dead letter like any other throw.
process.exit = ((code?: number | string | null) => {
  throw new Error(`process.exit(${code ?? ''}) was called in a keyflow actor thread, where user code cannot end the run: throw an error instead to turn the event into a dead letter`);
});
const durable = init.durable;

const doorbell = new Doorbell(init.doorbell);
const out = new FrameSender(new RingWriter(init.output), init.frameRecords, () => doorbell.ring());
const acknowledged = new DurableCounter(init.input);
const activity = new Activity(init.activity);
/** Text of one batch of NDJSON lines: a fraction of a frame, so that even 3-byte UTF-8 characters fit. */
const writer = new OutputWriter(out, init.pipelines.map((p) => p.name), activity, sealFrame, Math.min(64 * 1024, maxFrameBytes(init.output.data.byteLength) / 8));
/** Work the thread does without yielding before it lets control messages in. */
const YIELD_EVERY_MS = 20;
/** In 'batch' mode, fsync at least this often while input keeps coming, and whenever it pauses. */
const GROUP_COMMIT_BYTES = 4 * 1024 * 1024;

/**
 * Seal output records into frames, what the output writer gathers first; one that no frame can carry — too
 * big for the ring, or not encodable (a cyclic or too deeply nested object, a function) — becomes a problem
 * report instead.
 */
function seal(): void {
  writer.flush();
  sealFrame();
}

/**
 * Seal the records in the builder as they are (the output writer calls this when the builder fills). What no
 * frame can carry is reported instead (a dead letter without its event); a report that cannot be carried
 * either (its key is what cannot be) goes without its key and event, its detail cut short; and if even that
 * cannot, the actor fails rather than lose it.
 */
function sealFrame(): void {
  const unsendable: Unsendable[] = [];
  out.seal((u) => unsendable.push(u));
  if (unsendable.length === 0) return;
  for (const u of unsendable) out.builder.error(u.pipe, u.src, u.kg, u.pos, u.key, reported(u));
  const unreported: Unsendable[] = [];
  out.seal((u) => unreported.push(u));
  if (unreported.length === 0) return;
  for (const u of unreported) out.builder.error(u.pipe, u.src, u.kg, u.pos, undefined, bareProblem(u.value as Problem));
  out.seal((u) => failWith({ message: `a problem report no frame can carry: ${(u.value as Problem).detail.slice(0, 200)}`, code: codes.TOO_LARGE }));
}

/** The problem report of an output record no frame can carry. */
function reported(u: Unsendable): Problem {
  // A dead letter whose event cannot be carried (a result the next stage could not be sent is its own event).
  if (u.kind === Kind.ERROR) return withoutEvent(u.value as Problem, u);
  const what = u.kind === Kind.RESULT ? `result #${u.pos} of key-group ${u.kg}`
    : u.kind === Kind.RESULT_LINES ? `a batch of ${u.pos} results as NDJSON` : 'an output record';
  return unsendableProblem(u, what, 'output');
}

class Log {
  private wal: WalWriter | null = null;
  private framesIn = 0;
  /** The count acknowledged last (acknowledge() publishes only a new one: a waiting producer wakes for it). */
  private published = 0;
  private firstUnsynced = 0;

  open(checkpoint: number): void {
    if (durable && durable.durability !== 'none') this.wal = new WalWriter(walDir(durable.stateDir, init.workers, init.actor), checkpoint);
  }

  /** Whether frames go to a WAL (whose sync an acknowledgement then waits for). */
  get writing(): boolean {
    return this.wal !== null;
  }

  /** Log a received frame before it is applied. */
  append(bytes: Uint8Array): void {
    this.framesIn++;
    this.appendOwn(bytes);
  }

  /** Log a frame the actor made itself (a clock tick): logged, but not input to acknowledge. */
  appendOwn(bytes: Uint8Array): void {
    if (this.wal === null) return;
    if (this.wal.unsynced === 0) this.firstUnsynced = performance.now();
    this.wal.append(bytes);
  }

  /** Is it time to group-commit? */
  due(): boolean {
    if (this.wal === null) return true;
    if (durable!.durability === 'sync') return true;
    return this.wal.unsynced >= GROUP_COMMIT_BYTES || performance.now() - this.firstUnsynced >= durable!.syncEveryMs;
  }

  /** fsync, then acknowledge the frames and release the outputs they produced (to the next stages too). */
  async commit(): Promise<void> {
    this.acknowledge();
    if (stages) {
      stages.shuffle.forward(stages.actor.currentWatermarks());
      stages.shuffle.flush();
    }
    seal();
    await out.push();
  }

  /**
   * fsync, then acknowledge the frames logged so far, applied or not: a logged frame is replayed after a
   * crash. What they produced goes out at the next commit(), never before its input is durable.
   */
  acknowledge(): void {
    this.wal?.sync();
    if (this.framesIn === this.published) return;
    this.published = this.framesIn;
    acknowledged.publish(this.framesIn);
  }

  rotate(checkpoint: number): void {
    this.wal?.rotate(checkpoint);
  }

  /** fsync now (a barrier sends the next stages what this actor's input made, which must be durable first). */
  sync(): void {
    this.wal?.sync();
  }
}

const log = new Log();
/** Pipelines of several stages: the shuffle between them (null when every pipeline has one). */
let stages: { actor: Actor; shuffle: Shuffle } | null = null;
/** How long an actor waiting on other actors (frames to send, or the end of a later stage's input) sleeps between looks. */
const STAGE_POLL_MS = 1;

/** How long the actor copies key-groups for a snapshot between two frames. */
const SNAPSHOT_SLICE_MS = 2;
/** Snapshot files being written, and their acknowledgements waiting for the write. */
const writes = new Set<Promise<void>>();
/** How long the latest barrier itself stopped the actor (header and WAL rotation). */
let barrierStopMs = 0;

/**
 * A barrier: note the state's header and rotate the WAL now; the key-groups are copied a slice at a
 * time between frames (see Actor.beginSnapshot), so ingestion is not held up for the whole state.
 */
function beginSnapshot(actor: Actor, checkpoint: number): void {
  if (actor.snapshotting) finishSnapshot(actor, Infinity); // one at a time: complete the previous one
  const t0 = performance.now();
  // Later stages: wait for every other actor's barrier, so the snapshot holds what they sent before theirs.
  stages?.shuffle.align(checkpoint, actor.currentWatermarks(), () => log.sync());
  actor.beginSnapshot(checkpoint, keyGroupRange(init.actor, init.workers, init.maxKeyGroups));
  stages?.shuffle.resume();
  log.rotate(checkpoint);
  barrierStopMs = performance.now() - t0;
}

/** Copy more key-groups; once all are, write the file (off this thread) and then acknowledge. */
function finishSnapshot(actor: Actor, budgetMs: number): void {
  const snapshot = actor.captureSome(budgetMs);
  if (snapshot === null) return;
  const pauseMs = Math.max(barrierStopMs, actor.longestStopMs);
  if (!durable) {
    actor.emitBarrierAck(snapshot.checkpoint, { bytes: 0, keys: actor.capturedKeys, pauseMs });
    return;
  }
  const bytes = encodeSnapshot(snapshot);
  const write: Promise<void> = writeSnapshot(snapshotPath(durable.stateDir, snapshot.checkpoint, init.actor), bytes).then(
    () => {
      writes.delete(write);
      actor.emitBarrierAck(snapshot.checkpoint, { bytes: bytes.length, keys: actor.capturedKeys, pauseMs });
      // Send it now, not when the next frame comes (an idle actor may wait up to its poll interval);
      // commit() syncs the WAL first, so no output goes ahead of its input's durability.
      log.commit().catch(fatal);
    },
    (err: unknown) => {
      writes.delete(write);
      failWith({ message: `cannot write snapshot: ${err instanceof Error ? err.message : String(err)}`, ...codeOf(err) });
    },
  );
  writes.add(write);
}

/** Complete any snapshot in progress, including its write (before the end, or when idle). */
async function settleSnapshots(actor: Actor): Promise<void> {
  finishSnapshot(actor, Infinity);
  await Promise.all([...writes]);
}

/** Records of a frame applied at a time when something is to run between them (see applyFrame). */
const APPLY_SLICE = 256;

/**
 * Apply one frame; act on barriers in it; returns true at the end marker. `between` runs between slices of
 * APPLY_SLICE records (the actor reads and logs the input that came meanwhile).
 */
function applyFrame(actor: Actor, frame: FrameView, replaying: boolean, between?: () => void): boolean {
  let from = 0;
  while (from < frame.count) {
    const to = between === undefined ? frame.count : Math.min(from + APPLY_SLICE, frame.count);
    const { control, next }: { control: Control; next: number } = actor.apply(frame, from, replaying, to);
    from = next;
    if (control.kind === 'barrier') beginSnapshot(actor, control.checkpoint);
    else if (control.kind === 'end') return true;
    else if (between !== undefined && from < frame.count) between();
  }
  return false;
}

interface WalTail {
  frames: Uint8Array[];
  tornBytes: number;
  /** The segment new frames go to: the last one there is (a barrier may have started one after the restored checkpoint). */
  lastSegment: number;
}

/**
 * Read and check what the WAL holds after the restored checkpoint, at start (so corruption stops
 * start()), cutting off a torn tail so new records follow intact ones, and make it durable before it is
 * replayed (see syncForReplay).
 */
function readWal(): WalTail {
  const from = durable?.restore?.checkpoint ?? 0;
  if (!durable) return { frames: [], tornBytes: 0, lastSegment: from };
  const segments = listSegments(walDir(durable.stateDir, init.workers, init.actor)).filter(([id]) => id >= from);
  const frames: Uint8Array[] = [];
  let tornBytes = 0;
  segments.forEach(([, path], i) => {
    const read = readSegment(path, i === segments.length - 1);
    frames.push(...read.frames);
    if (read.tornBytes > 0) tornBytes = read.tornBytes;
    syncForReplay(path, read.tornBytes > 0 ? read.frames.reduce((n, f) => n + 8 + f.length, 0) : null);
  });
  // The segments' names too: a run killed between making a segment and fsyncing its directory.
  if (segments.length > 0) fsyncDir(walDir(durable.stateDir, init.workers, init.actor));
  return { frames, tornBytes, lastSegment: segments.at(-1)?.[0] ?? from };
}

/** Re-apply the WAL tail: outputs it produces carry the same numbers as the first time. */
function replay(actor: Actor, tail: WalTail): Replayed {
  const frame = new FrameView();
  // Decode from an aligned copy: a frame's typed-array columns need 8-byte alignment.
  for (const bytes of tail.frames) applyFrame(actor, frame.decode(new Uint8Array(bytes)), true);
  return { frames: tail.frames.length, tornBytes: tail.tornBytes, watermarks: actor.currentWatermarks() };
}

function restoreFrom(actor: Actor, names: string[]): void {
  const restore = durable?.restore;
  if (!durable || !restore) return;
  const dir = snapshotDir(durable.stateDir, restore.checkpoint);
  const files = snapshotFiles(durable.stateDir, restore.checkpoint);
  if (files.length !== restore.workers) throw Object.assign(new Error(`checkpoint ${restore.checkpoint} in ${dir} has ${files.length} snapshot files, expected ${restore.workers}`), { code: codes.CORRUPT });
  actor.restore(files.map((path) => readSnapshot(path)), init.actor, init.workers, names);
}

/** Log and apply a processing-time tick, if the actor's operators read the clock and it moved. */
function tick(actor: Actor, clock: ProcessingClock, frame: FrameView): void {
  const bytes = clock.tick();
  if (bytes === null) return;
  log.appendOwn(bytes);
  applyFrame(actor, frame.decode(bytes), false);
}

async function run(actor: Actor): Promise<void> {
  const reader = new RingReader(init.input);
  // Reading ahead lets the actor acknowledge (sync) frames before it applies them; without a WAL an
  // acknowledgement waits for nothing, and reading ahead only costs (measured: 2-9 % more CPU per event).
  const input = new InputAhead(reader, (bytes) => log.append(bytes), log.writing && !actor.usesProcessingTime);
  const frame = new FrameView();
  const clock = new ProcessingClock(actor.usesProcessingTime);
  let slice = performance.now();
  tick(actor, clock, frame);
  const shuffled = stages ? () => stages!.shuffle.hasInput() : undefined;
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
        await log.commit();
        await reader.waitForData(STAGE_POLL_MS, shuffled);
        continue;
      }
    }
    const bytes = input.next(() => tick(actor, clock, frame));
    if (bytes === null) {
      await log.commit();
      if (actor.snapshotting) {
        // Idle: copy key-groups without waiting, a slice at a time so new input is seen soon.
        finishSnapshot(actor, SNAPSHOT_SLICE_MS * 5);
        continue;
      }
      // Idle: sleep until input comes (from the calling thread or another actor) or a processing-time
      // timer (or TTL) is due; briefly, while frames for other actors wait for room.
      const sending = stages !== null && !stages.shuffle.flush();
      await reader.waitForData(clock.waitMs(actor.nextProcessingTime(), sending ? STAGE_POLL_MS : WAIT_TIMEOUT_MS), shuffled);
      if (Date.now() >= actor.nextProcessingTime()) tick(actor, clock, frame);
      slice = performance.now();
      continue;
    }
    // The last frame sent so far is logged: the calling thread waits to hear its input is durable (ingest()
    // resolves then), so it hears it now, and goes on while the frames are applied, rather than after.
    if (!reader.hasData()) log.acknowledge();
    const ended = applyFrame(actor, frame.decode(bytes), false, takeMore);
    if (ended) {
      await settleSnapshots(actor);
      actor.finish();
      await endStages(reader);
      actor.emitEnd();
      await log.commit();
      return;
    }
    if (actor.snapshotting) finishSnapshot(actor, SNAPSHOT_SLICE_MS);
    if (log.due()) await log.commit();
    // Stopping on the first error: report it and take nothing more; the main thread ends this thread.
    if (actor.failed) {
      await log.commit();
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
async function endStages(reader: RingReader): Promise<void> {
  if (stages === null) return;
  const { shuffle, actor } = stages;
  for (;;) {
    await log.commit();
    shuffle.drain();
    if (shuffle.ended) {
      // The stages here just fired their last windows: one more commit sends what they emitted to the
      // stages after them (and +∞), and the end may come only once all of it is out.
      await log.commit();
      if (shuffle.flush()) return;
    }
    if (actor.failed) return;
    await reader.waitForData(STAGE_POLL_MS, () => shuffle.hasInput());
  }
}

/** Set once, when the actor fails for good; the engine learns it through control.failure(). */
let failWith!: (f: ActorFailure) => void;
const failed = new Promise<ActorFailure>((resolve) => (failWith = resolve));

/** Load the pipelines, open the state backend, restore the snapshot and read the WAL tail. */
async function open(): Promise<{ actor: Actor; tail: WalTail }> {
  const names = init.pipelines.map((p) => p.name);
  const pipelines = await Promise.all(init.pipelines.map((p) => loadPipeline(p.name, p.moduleUrl)));
  const stores = await openBackend(init.stateBackend, init.actor, init.maxKeyGroups);
  const actor = new Actor(names, stageLinks(pipelines), (pipe, output) => createOperator(pipelines[pipe], output, stores(pipe)), writer, init.failFast, init.maxKeyGroups, activity);
  if (init.shuffle) {
    const shuffle = new Shuffle(init.shuffle, pipelines, init.maxKeyGroups, init.frameRecords, actor);
    actor.connect(shuffle);
    stages = { actor, shuffle };
  }
  restoreFrom(actor, names);
  return { actor, tail: readWal() };
}

/** Replay the WAL tail, then read the input ring until the end marker. */
async function replayThenRun(actor: Actor, tail: WalTail): Promise<Replayed> {
  try {
    const replayed = replay(actor, tail);
    log.open(tail.lastSegment);
    await log.commit();
    run(actor).catch(fatal);
    return replayed;
  } catch (err) {
    fatal(err);
    return { frames: 0, tornBytes: 0, watermarks: [] };
  }
}

/** A WAL or snapshot that cannot be written (a full disk, a read-only directory) or read: stop, acknowledging nothing more. */
function fatal(err: unknown): void {
  failWith({ message: err instanceof Error ? err.message : describeThrown(err), ...codeOf(err) });
}

const opened = open();

/**
 * engine.query() (a key's current state) and engine.operatorState(), read between frames, so they
 * reflect every event this actor has applied so far. A throwing query, or an answer that cannot be sent
 * to the calling thread (state holding a function, say), reaches the engine as its message.
 */
async function answer<T>(read: (actor: Actor) => T): Promise<T> {
  const { actor } = await opened;
  try {
    const value = read(actor);
    structuredClone(value);
    return value;
  } catch (err) {
    throw new Error(err instanceof Error ? err.message : describeThrown(err));
  }
}

const control: ActorControl = {
  ready: () => opened.then(() => null, (err: unknown) => ({ message: err instanceof Error ? err.message : describeThrown(err), ...codeOf(err) })),
  replay: () => opened.then(({ actor, tail }) => replayThenRun(actor, tail)),
  outputs: (plan) => opened.then(() => writer.setPlan(plan)),
  query: (pipe, kg, key) => answer((actor) => actor.operators[pipe].query(kg, stateKeyOf(key))),
  operatorState: (pipe) => answer((actor) => actor.operators[pipe].queryOperatorState?.() ?? {}),
  failure: () => failed,
};

function codeOf(err: unknown): { code?: string } {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? { code: (err as { code: string }).code } : {};
}

// The endpoint's message listener keeps this thread alive until the engine terminates it: to the engine,
// an actor that exits on its own has crashed.
Comlink.expose(control, nodeEndpoint(parentPort!));
