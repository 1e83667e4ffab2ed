import { durableFs as fs } from '../../shared/durability/durable-fs.js';
import type { SnapshotAck } from '../../shared/codec/records.js';
import { writeManifest, type CheckpointRecord, type Manifest } from './manifest.js';
import { truncateBefore } from '../../shared/durability/wal.js';
import { listSnapshotDirs, listWalDirs } from '../../shared/durability/state-layout.js';

/** How many completed checkpoints are kept: the latest, and the one before it for repair. */
const KEEP = 2;

interface Pending {
  record: Omit<CheckpointRecord, 'completedAt' | 'snapshotBytes' | 'keys'>;
  /** Snapshots only: not recorded, nothing committed or deleted (see Engine.checkpointAndClose). */
  provisional: boolean;
  acks: SnapshotAck[];
  startedAt: number;
  done: (r: CheckpointRecord) => void;
}

export interface CheckpointStats {
  completed: number;
  lastId: number | null;
  /** The latest checkpoint's size: snapshot bytes and keys. */
  lastBytes: number;
  lastKeys: number;
  /** The longest time one actor stopped processing to snapshot. */
  longestPauseMs: number;
  /** How long the latest checkpoint took, from its barrier to the last actor's snapshot on disk. */
  lastDurationMs: number;
}

/**
 * The main thread's side of checkpoints: collects every actor's barrier acknowledgement, then commits
 * the sinks, records the checkpoint in the manifest, and deletes what it made obsolete (WAL segments
 * and snapshots older than the previous checkpoint).
 */
export class CheckpointCoordinator {
  private readonly pending = new Map<number, Pending>();
  readonly stats: CheckpointStats = { completed: 0, lastId: null, lastBytes: 0, lastKeys: 0, longestPauseMs: 0, lastDurationMs: 0 };
  /** A completion waiting for a sink's asynchronous commit: the next one completes after it. */
  private completing: Promise<void> | null = null;
  private failed = false;
  private readonly listeners = new Set<(record: CheckpointRecord) => void>();

  constructor(private readonly stateDir: string | null, private manifest: Manifest, private readonly workers: number,
              /** Commit the sinks: a promise when one commits asynchronously (a broker's acknowledgements). */
              private readonly commitSinks: () => Promise<void> | void,
              /** Hears of a checkpoint that could not complete asynchronously (a synchronous failure is thrown by ack()). */
              private readonly fail: (err: unknown) => void = () => {}) {}

  /** Hear of each checkpoint recorded from now on (a source acknowledges its input on it); returns how to stop. */
  onComplete(listener: (record: CheckpointRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  expect(record: Pending['record'], provisional = false): Promise<CheckpointRecord> {
    return new Promise((done) => this.pending.set(record.id, { record, provisional, acks: [], startedAt: performance.now(), done }));
  }

  /**
   * Record a checkpoint this engine restored but did not take: a rescaling pre-run's, which that run left
   * out of the manifest because the outputs its replay emitted were not in the sinks yet. Called once this
   * engine has handed them to its sinks, before it acknowledges any input: that input is logged after
   * this checkpoint, and until the manifest names it a crash would recover from an older one and never
   * replay it. Resolves once recorded; a failure fails the engine (and the promise never settles).
   */
  adopt(restored: CheckpointRecord): Promise<void> {
    const record = { ...restored, walWorkers: this.workers };
    return new Promise((resolve) => {
      const p: Pending = { record, provisional: false, acks: [], startedAt: performance.now(), done: () => resolve() };
      try {
        const completion = this.complete(p, record);
        if (completion) this.waitFor(completion);
      } catch (err) {
        this.failed = true;
        this.fail(err);
      }
    });
  }

  ack(checkpoint: number, ack: SnapshotAck): void {
    const p = this.pending.get(checkpoint);
    if (!p) return;
    p.acks.push(ack);
    this.stats.longestPauseMs = Math.max(this.stats.longestPauseMs, ack.pauseMs);
    if (p.acks.length < this.workers) return;
    this.pending.delete(checkpoint);
    const record: CheckpointRecord = { ...p.record, completedAt: new Date().toISOString(), snapshotBytes: p.acks.reduce((n, a) => n + a.bytes, 0), keys: p.acks.reduce((n, a) => n + a.keys, 0) };
    const completion = this.completing ? this.completing.then(() => this.complete(p, record)) : this.complete(p, record);
    if (completion) this.waitFor(completion);
  }

  private complete(p: Pending, record: CheckpointRecord): Promise<void> | void {
    if (this.failed) return;
    // Snapshot files are written asynchronously, so a checkpoint can complete after a newer one. The
    // newer one supersedes it: recording it would put it last in the manifest while pruning (keyed on
    // the newer one) deletes its files.
    if (p.provisional || (this.stats.lastId !== null && record.id < this.stats.lastId)) {
      p.done(record);
      return;
    }
    // Every result before the barrier has reached the sinks (it travelled ahead of the ack): commit them
    // first, so a recovered run never restores state that is ahead of what the sinks hold.
    const committed = this.commitSinks();
    if (committed) return committed.then(() => this.record(p, record));
    this.record(p, record);
  }

  private record(p: Pending, record: CheckpointRecord): void {
    if (this.stateDir) {
      this.manifest = { ...this.manifest, checkpoints: [...this.manifest.checkpoints, record].slice(-KEEP) };
      writeManifest(this.stateDir, this.manifest);
      this.prune(this.manifest.checkpoints[0].id);
    }
    this.stats.completed++;
    this.stats.lastId = record.id;
    this.stats.lastBytes = record.snapshotBytes;
    this.stats.lastKeys = record.keys;
    this.stats.lastDurationMs = performance.now() - p.startedAt;
    for (const listener of this.listeners) listener(record);
    p.done(record);
  }

  /** Completions wait for one another while a sink commits; after a failure none completes. */
  private waitFor(completion: Promise<void>): void {
    const chained: Promise<void> = completion.catch((err) => {
      this.failed = true;
      this.fail(err);
    }).then(() => {
      if (this.completing === chained) this.completing = null;
    });
    this.completing = chained;
  }

  /**
   * Delete WAL segments and snapshots older than the oldest checkpoint kept, for every actor there ever
   * was; but not the snapshots of a checkpoint still pending: an actor may still be writing into its
   * directory (a superseded checkpoint's files go with the next prune once its acks are in).
   */
  private prune(oldestKept: number): void {
    const dir = this.stateDir!;
    for (const actor of listWalDirs(dir)) truncateBefore(actor.path, oldestKept);
    for (const [id, path] of listSnapshotDirs(dir)) {
      if (id < oldestKept && !this.pending.has(id)) fs.rmSync(path, { recursive: true, force: true });
    }
  }
}
