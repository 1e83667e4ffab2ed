/**
 * The engine's actors, as the calling thread sees them: one ActorLink each, watched for crashes, for
 * unexpected exits, for a fatal error they report, and (with maxCallMs) for a call that never returns.
 * Every failure is worded with what the actor was doing (see whereabouts.ts).
 */
import type { ActorLink, RingFill } from './actor-link.js';
import type { Replayed } from '../shared/actor-protocol.js';
import type { OutputPlan } from '../shared/codec/records.js';
import { whereabouts, type WhereaboutsContext } from './whereabouts.js';
import { park } from './idle-actors.js';
import { KeyflowError, codes } from '../shared/errors.js';
import type { Failure } from './failure.js';
import { handledWhereAwaited } from '../shared/ignore.js';
import { actorOf, keyGroupOf, stateKeyOf } from '../shared/keygroups.js';

export class ActorSet {
  /** Set once the engine ends its actors itself; any exit before that is a crash. */
  private terminating = false;
  /** What each link's thread calls on exit, removed when the thread is let go (see release). */
  private readonly exitListeners: Array<(code: number) => void> = [];
  private readonly watchdog: NodeJS.Timeout | null;
  private readonly abort: () => Error | null;
  /** Rejects once the actors are ended, so a question asked after that fails instead of waiting forever. */
  private readonly ended: Promise<never>;
  private end!: (err: KeyflowError) => void;

  constructor(readonly links: readonly ActorLink[], private readonly failure: Failure, private readonly context: WhereaboutsContext,
              private readonly maxKeyGroups: number, maxCallMs: number,
              /** Removes what the actors leave behind (a temporary LMDB directory), once they have ended. */
              private readonly cleanup: () => void) {
    this.abort = () => failure.error;
    this.ended = new Promise<never>((_, reject) => (this.end = reject));
    this.ended.catch(handledWhereAwaited);
    this.watchdog = maxCallMs > 0 ? this.watchCalls(maxCallMs) : null;
    for (const link of links) {
      link.watchCrash((err: Error & { code?: string }) => {
        const hint = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? ' — give the actors more memory (node --max-old-space-size=MB, or start() option actorResourceLimits), or keep keyed state on disk (stateBackend \'lmdb\')' : '';
        failure.fail(new KeyflowError(codes.WORKER, `an actor thread crashed (${err.message}); ${this.whereabouts(link)}${hint}`, err));
      });
      const exited = (code: number) => {
        if (!this.terminating) failure.fail(new KeyflowError(codes.WORKER, `an actor thread exited unexpectedly (code ${code}); ${this.whereabouts(link)}`));
      };
      link.worker.on('exit', exited);
      this.exitListeners.push(exited);
      void link.control.failure().then((f) => failure.fail(new KeyflowError(f.code === codes.CORRUPT ? codes.CORRUPT : codes.STATE_DIR, f.message)));
    }
  }

  get count(): number {
    return this.links.length;
  }

  /** A key's current state, asked of the actor that owns it. */
  query(pipe: number, key: unknown): Promise<unknown> {
    // A key that cannot be sent to the actor throws here (DataCloneError), before comlink registers the call.
    structuredClone(key);
    const kg = keyGroupOf(stateKeyOf(key), this.maxKeyGroups);
    return this.ask(this.links[actorOf(kg, this.links.length, this.maxKeyGroups)].control.query(pipe, kg, key));
  }

  /** A pipeline's operator state, asked of every actor, in actor order. */
  operatorState(pipe: number): Promise<Array<Record<string, unknown[]>>> {
    return this.ask(Promise.all(this.links.map((l) => l.control.operatorState(pipe))));
  }

  /** Every actor re-applies its WAL tail; the frames and torn bytes, added up. */
  async replay(): Promise<Replayed> {
    const all = await Promise.all(this.links.map((l) => l.control.replay()));
    const watermarks = all[0]?.watermarks.map((_, p) => Math.max(...all.map((r) => r.watermarks[p]))) ?? [];
    return { frames: all.reduce((n, r) => n + r.frames, 0), tornBytes: all.reduce((n, r) => n + r.tornBytes, 0), watermarks };
  }

  /** Every actor takes the plan (between two frames); gives up once the engine fails or its actors end. */
  async setOutputPlan(plan: OutputPlan): Promise<void> {
    await Promise.race([Promise.all(this.links.map((l) => l.control.outputs(plan))), this.failure.failed, this.ended]);
  }

  /** A control request's answer, unless the engine fails first; one that throws is a user's query failing. */
  private async ask<T>(answer: Promise<T>): Promise<T> {
    try {
      return await Promise.race([answer, this.failure.failed, this.ended]);
    } catch (err) {
      if (err instanceof KeyflowError) throw err;
      throw new KeyflowError(codes.USER_FUNCTION, `query(): ${(err as Error).message}`);
    }
  }

  /** Push frames already sealed (a builder filled up) without sealing partial ones. */
  async pushBacklog(): Promise<void> {
    if (this.links.some((l) => l.sender.queued > 0)) await this.pushAll();
  }

  async pushAll(): Promise<void> {
    await Promise.all(this.links.map((l) => l.sender.push(this.abort)));
  }

  /** Frames sent to each actor so far. */
  sent(): number[] {
    return this.links.map((l) => l.sender.written);
  }

  /** Resolves once every actor has made durable (with durability 'none': has received) `frames[actor]` frames: by default all sent to it. */
  async durable(frames = this.sent()): Promise<void> {
    await Promise.all(this.links.map((l, i) => l.durable.reach(frames[i], this.abort)));
  }

  /** Bytes sent to the actors so far. */
  routedBytes(): number {
    return this.links.reduce((n, l) => n + l.sender.bytes, 0);
  }

  rings(): RingFill[] {
    return this.links.map((l) => l.rings());
  }

  /** End every actor thread (even one stuck in a loop), then clean up after them. */
  terminate(): Promise<unknown> {
    this.stopWatching();
    return Promise.all(this.links.map((l) => l.terminate())).finally(this.cleanup);
  }

  /**
   * After a clean end (every actor has reached the end marker): let the threads go, to wait `keepMs` for a
   * next engine in the process (see idle-actors.ts), ending any that cannot be; then clean up after them.
   */
  release(keepMs: number): Promise<unknown> {
    if (this.terminating) return this.terminate();
    this.stopWatching();
    return Promise.all(this.links.map(async (link, i) => {
      link.worker.off('exit', this.exitListeners[i]);
      const thread = await link.release();
      if (thread !== null) park(thread, keepMs);
    })).finally(this.cleanup);
  }

  private stopWatching(): void {
    // The watchdog runs until here: an actor can get stuck while the engine stops, too.
    if (this.watchdog) clearInterval(this.watchdog);
    this.terminating = true;
    this.end(new KeyflowError(codes.STOPPED, 'the engine has stopped: its actors answer no more questions'));
  }

  /** What an actor was doing, in words (for failures: its thread may be dead or stuck). */
  private whereabouts(link: ActorLink): string {
    return whereabouts(link.actor, link.activity.read(), this.context);
  }

  /**
   * The maxCallMs watchdog: samples each actor's activity slot, and fails the run when an actor has been
   * applying records for maxCallMs with no progress (a user function that never returns). Its thread is
   * then terminated, which interrupts even a busy loop.
   */
  private watchCalls(maxCallMs: number): NodeJS.Timeout {
    const watched = this.links.map((link) => ({ link, progress: -1, since: 0 }));
    return setInterval(() => {
      const now = performance.now();
      for (const w of watched) {
        const { link } = w;
        const progress = link.activity.progress;
        if (!link.activity.busy || progress !== w.progress) {
          w.progress = progress;
          w.since = now;
        } else if (now - w.since >= maxCallMs) {
          this.failure.fail(new KeyflowError(codes.CALL_TIMEOUT, `a call ran for more than maxCallMs (${maxCallMs} ms) without progress; ${this.whereabouts(link)}. `
            + 'The actors were stopped. A user function that never returns? If such a call is legitimately slow, raise maxCallMs (--max-call-ms), or set it to 0 for no limit'));
        }
      }
    }, Math.min(1000, Math.max(5, maxCallMs / 4))).unref();
  }
}
