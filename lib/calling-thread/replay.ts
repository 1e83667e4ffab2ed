/**
 * Recovery's second half, run once before the first batch, query or checkpoint: deliver what a rescaling
 * pre-run carried over and record that run's checkpoint (see CheckpointCoordinator.adopt), tell the
 * actors in which form to send outputs (see output-plan.ts), then have every actor re-apply its WAL tail
 * after the restored checkpoint (the snapshots were restored when the actors started). Resolves even if
 * the engine fails meanwhile.
 */
import type { ActorSet } from './actor-set.js';
import type { RecoveryInfo } from './engine-stats.js';
import type { Failure } from './failure.js';
import type { CarriedOutput, OutputDispatch } from './output-dispatch.js';
import type { OutputPlanner } from './output-plan.js';
import type { Router } from '../shared/router.js';
import { reportedElsewhere } from '../shared/ignore.js';

export class Replay {
  /** What recovery found and did, once done. */
  info: RecoveryInfo | null = null;
  private done: Promise<void> | null = null;

  constructor(private readonly actors: ActorSet, private readonly dispatch: OutputDispatch, private readonly planner: OutputPlanner, private readonly failure: Failure,
              private readonly carried: CarriedOutput[], private readonly checkpoint: number | null, private readonly startedAt: number,
              private readonly router: Router,
              /** Records the restored checkpoint, when a rescaling pre-run took it (null otherwise). */
              private readonly adopt: (() => Promise<void>) | null) {}

  /** Also waits for a change of the output plan on its way to the actors (a stream asked for since). */
  run(): Promise<void> {
    this.done ??= this.replay();
    return this.done.then(() => this.planner.settled());
  }

  /** Recovered, unless the engine has failed (then it throws). */
  async ready(): Promise<void> {
    this.failure.throwIfFailed();
    await this.run();
  }

  private async replay(): Promise<void> {
    for (const o of this.carried.splice(0)) this.dispatch.deliver(o);
    if (this.adopt) await this.failure.race(this.adopt()).catch(reportedElsewhere);
    // The router's watermark stays where the checkpoint left it, though the replayed WAL may hold later
    // events: a producer resends from the checkpoint, and its events must carry the watermark they
    // carried the first time, or an actor that had not logged them would now find them late.
    const replayed = await this.failure.race(this.planner.begin().then(() => this.actors.replay())).catch(() => ({ frames: 0, tornBytes: 0, watermarks: [] }));
    // So actors can be ahead of the router: it must not combine a window pane an actor may have fired.
    this.router.recoveredTo(replayed.watermarks);
    this.info = { checkpoint: this.checkpoint, replayedFrames: replayed.frames, tornBytes: replayed.tornBytes, ms: performance.now() - this.startedAt };
  }
}
