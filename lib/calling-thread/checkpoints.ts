/**
 * When and how the calling thread takes checkpoints: every snapshotEveryMs and every snapshotEveryBytes
 * routed, or when asked. A checkpoint is queued behind the ingest() calls before it, then its barrier goes
 * to every actor in band; the coordinator completes it once every actor has acknowledged.
 */
import type { ActorSet } from './actor-set.js';
import type { CheckpointCoordinator } from './durability/checkpoint-coordinator.js';
import type { CheckpointRecord } from './durability/manifest.js';
import { configError } from '../shared/errors.js';
import type { Failure } from './failure.js';
import { reportedElsewhere } from '../shared/ignore.js';
import type { Ingestion } from './ingestion.js';
import type { ResolvedOptions } from './options.js';
import type { Router } from '../shared/router.js';
import type { SourceRegistry } from './sources/registry.js';

export class Checkpoints {
  private bytesAtCheckpoint = 0;
  private readonly timer: NodeJS.Timeout | null;
  /** Set by stop(): the engine is stopping (or handing over), and takes its own last checkpoint. */
  private stopped = false;

  constructor(private readonly coordinator: CheckpointCoordinator, private next: number, private readonly options: ResolvedOptions,
              private readonly ingestion: Ingestion, private readonly router: Router, private readonly sources: SourceRegistry,
              private readonly actors: ActorSet, private readonly failure: Failure, private readonly recover: () => Promise<void>,
              /** Whether recovery has run: until it has (until the first input), a timer takes no checkpoint (see below). */
              private readonly recovered: () => boolean) {
    // A timer must not be what runs recovery: the outputs a replay emits go to the sinks and streams attached
    // by then, and the user may still be attaching them (a broker's sink connects first).
    this.timer = options.stateDir && options.snapshotEveryMs > 0
      ? setInterval(() => { if (this.recovered()) this.take(false).catch(reportedElsewhere); }, options.snapshotEveryMs).unref()
      : null;
  }

  /**
   * After a batch is acknowledged: take one if snapshotEveryBytes have been routed since the last. Not once
   * stopping: an ingest() call in flight may be acknowledged after stop() began.
   */
  afterBatch(): void {
    if (!this.stopped && this.options.stateDir && this.actors.routedBytes() - this.bytesAtCheckpoint >= this.options.snapshotEveryBytes) {
      this.bytesAtCheckpoint = this.actors.routedBytes();
      this.take(false).catch(reportedElsewhere);
    }
  }

  /**
   * Resolves when the checkpoint is complete. A provisional one (a rescaling pre-run's) is not recorded
   * in the manifest: its outputs reach the sinks only through the next engine.
   */
  take(provisional: boolean): Promise<CheckpointRecord> {
    if (!this.options.stateDir) return Promise.reject(configError('checkpoint() needs a stateDir'));
    let completed!: Promise<CheckpointRecord>;
    const queued = this.ingestion.enqueue(async () => {
      this.failure.throwIfFailed();
      await this.recover();
      const id = this.next++;
      completed = this.coordinator.expect({
        id,
        workers: this.actors.count,
        eventTimes: this.router.largestEventTimes().map((times) => times.map(([src, t]): [string, number] => [this.sources.name(src), t])),
        sources: [...this.sources.positions],
      }, provisional);
      this.router.barrier(id);
      this.bytesAtCheckpoint = this.actors.routedBytes();
      await this.actors.pushAll();
    });
    return queued.then(() => this.failure.race(completed));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }
}
