/**
 * An actor's side of durability for its input: frames logged to its WAL before they are applied, group
 * commits, and the count of frames acknowledged (made durable) that the calling thread waits on.
 */
import type { ActorInit } from '../shared/actor-protocol.js';
import { walDir } from '../shared/durability/state-layout.js';
import { WalWriter } from '../shared/durability/wal.js';
import type { DurableCounter } from '../shared/ring/durable-counter.js';

/** In 'batch' mode, fsync at least this often while input keeps coming, and whenever it pauses. */
const GROUP_COMMIT_BYTES = 4 * 1024 * 1024;

export class WalLog {
  private wal: WalWriter | null = null;
  private framesIn = 0;
  /** The count acknowledged last (acknowledge() publishes only a new one: a waiting producer wakes for it). */
  private published = 0;
  private firstUnsynced = 0;

  constructor(private readonly init: ActorInit, private readonly acknowledged: DurableCounter) {}

  open(checkpoint: number): void {
    const { durable, workers, actor } = this.init;
    if (durable && durable.durability !== 'none') this.wal = new WalWriter(walDir(durable.stateDir, workers, actor), checkpoint);
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
    const durable = this.init.durable!;
    if (durable.durability === 'sync') return true;
    return this.wal.unsynced >= GROUP_COMMIT_BYTES || performance.now() - this.firstUnsynced >= durable.syncEveryMs;
  }

  /**
   * fsync, then acknowledge the frames logged so far, applied or not: a logged frame is replayed after a
   * crash. What they produced goes out at the next commit, never before its input is durable.
   */
  acknowledge(): void {
    this.wal?.sync();
    if (this.framesIn === this.published) return;
    this.published = this.framesIn;
    this.acknowledged.publish(this.framesIn);
  }

  rotate(checkpoint: number): void {
    this.wal?.rotate(checkpoint);
  }

  /** fsync now (a barrier sends the next stages what this actor's input made, which must be durable first). */
  sync(): void {
    this.wal?.sync();
  }

  /** Sync and close the segment being written (the run has ended; the thread may serve another engine). */
  close(): void {
    this.wal?.close();
    this.wal = null;
  }
}
