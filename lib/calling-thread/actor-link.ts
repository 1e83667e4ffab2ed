/**
 * Everything the calling thread knows about one actor, in one handle (as piscina keeps one WorkerInfo
 * per worker): its thread, the sender that fills its input ring, the reader of its output ring, how much
 * of its input it has made durable, what it is doing, and the comlink proxy of its control object.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../shared/control-endpoint.js';
import { Activity } from '../shared/activity.js';
import type { ActorControl, ActorInit, ActorRun } from '../shared/actor-protocol.js';
import { takeIdle } from './idle-actors.js';
import { FrameSender } from '../shared/codec/frame-sender.js';
import { KeyflowError, codes } from '../shared/errors.js';
import { ActorThread } from './actor-thread.js';
import type { ActorThreadOptions } from './options.js';
import { DurableCounter } from '../shared/ring/durable-counter.js';
import { occupancy } from '../shared/ring/layout.js';
import { RingReader } from '../shared/ring/reader.js';
import { RingWriter } from '../shared/ring/writer.js';

/** How full an actor's rings are, for metrics. */
export interface RingFill {
  actor: number;
  input: number;
  output: number;
  capacity: number;
}

/** How long an actor may take to close its run's files before its thread is ended instead of kept. */
const RELEASE_MS = 5_000;

export class ActorLink {
  /** Frames on their way into the actor's input ring. */
  readonly sender: FrameSender;
  readonly output: RingReader;
  /** How much of its input the actor has made durable (with durability 'none': has received). */
  readonly durable: DurableCounter;
  readonly activity: Activity;
  readonly control: Comlink.Remote<ActorControl>;
  private readonly inputControl: Int32Array;
  private readonly outputControl: Int32Array;
  private readonly capacity: number;
  /** The thread's crash, kept until someone watches for it (see watchCrash). */
  private crash: Error | null = null;
  private onCrash: ((err: Error) => void) | null = null;
  private readonly heard = (err: Error) => {
    this.crash ??= err;
    this.onCrash?.(err);
  };
  /**
   * Its thread: running this engine's actor, being let go (release), let go (then no longer this engine's
   * to end), or ended.
   */
  private state: 'running' | 'releasing' | 'released' | 'ended' = 'running';
  /** Settles a release under way, as failed (the engine ended the thread meanwhile). */
  private abandonRelease: (() => void) | null = null;

  private constructor(readonly actor: number, private readonly thread: ActorThread, init: ActorInit, private readonly port: MessagePort) {
    // Input frames go as soon as they are sealed (direct): the actor logs them before applying them.
    this.sender = new FrameSender(new RingWriter(init.input), init.frameRecords, undefined, true);
    this.output = new RingReader(init.output);
    this.durable = new DurableCounter(init.input);
    this.activity = new Activity(init.activity);
    this.control = Comlink.wrap<ActorControl>(nodeEndpoint(port));
    this.inputControl = new Int32Array(init.input.control);
    this.outputControl = new Int32Array(init.output.control);
    this.capacity = init.input.data.byteLength;
    this.crash = thread.failure;
    // Listening from the start: an 'error' event with no listener would crash the whole process.
    thread.worker.on('error', this.heard);
  }

  get worker(): Worker {
    return this.thread.worker;
  }

  /**
   * Give an actor thread a run (`thread`: one already started, or the options to take an idle one with,
   * else start a new one) and wait until it has loaded its pipelines and restored its state.
   */
  static async start(run: ActorRun, thread: ActorThread | ActorThreadOptions): Promise<ActorLink> {
    const started = thread instanceof ActorThread ? thread : takeIdle(thread) ?? new ActorThread(thread);
    const { port1, port2 } = new MessageChannel();
    const init: ActorInit = { ...run, control: port2 };
    try {
      started.begin(init);
    } catch (err) {
      port1.close();
      await started.worker.terminate();
      throw err;
    }
    const link = new ActorLink(init.actor, started, init, port1);
    const crashed = new Promise<never>((_, reject) => {
      link.watchCrash((err) => reject(new KeyflowError(codes.WORKER, `actor ${init.actor} failed to start: ${err.message}`, err)));
    });
    // A thread that exits without an error (ended from outside) never answers either.
    const exited = (code: number) => link.heard(new Error(`its thread exited (code ${code})`));
    started.worker.once('exit', exited);
    try {
      const failure = await Promise.race([link.control.ready(), crashed]);
      if (failure === null) return link;
      const code = failure.code === codes.CORRUPT || failure.code === codes.STATE_DIR ? failure.code : codes.PIPELINE_MODULE;
      throw new KeyflowError(code, failure.message);
    } catch (err) {
      await link.terminate();
      throw err;
    } finally {
      link.onCrash = null;
      started.worker.off('exit', exited);
    }
  }

  /** Call `handler` when this actor's thread crashes, or now if it already has. */
  watchCrash(handler: (err: Error) => void): void {
    this.onCrash = handler;
    if (this.crash) handler(this.crash);
  }

  rings(): RingFill {
    return { actor: this.actor, input: occupancy(this.inputControl), output: occupancy(this.outputControl), capacity: this.capacity };
  }

  /** End the thread (even one stuck in a loop), unless it was let go already: it is no longer this engine's. */
  async terminate(): Promise<void> {
    if (this.state === 'released' || this.state === 'ended') return;
    this.state = 'ended';
    this.abandonRelease?.();
    // The thread first: its run closes its files when its port closes (see ActorSession), and must not
    // while it still runs.
    await this.worker.terminate();
    this.port.close();
  }

  /**
   * After a clean end: the actor closes its run's files, and the thread is let go, to wait for the next
   * engine (see idle-actors.ts); null if it cannot be (it crashed, exited or did not answer in time, or the
   * engine ended it meanwhile: then it is ended).
   */
  async release(): Promise<ActorThread | null> {
    if (this.state !== 'running') return null;
    this.state = 'releasing';
    const { worker } = this.thread;
    let settle!: (closed: boolean) => void;
    const outcome = new Promise<boolean>((resolve) => (settle = resolve));
    const failed = () => settle(false);
    const timer = setTimeout(failed, RELEASE_MS);
    worker.once('exit', failed);
    this.onCrash = failed;
    this.abandonRelease = failed;
    this.control.close().then(() => settle(true), failed);
    const closed = await outcome;
    clearTimeout(timer);
    worker.off('exit', failed);
    this.onCrash = this.abandonRelease = null;
    if (closed && this.crash === null && this.state === 'releasing') {
      this.state = 'released';
      worker.off('error', this.heard);
      this.port.close();
      return this.thread;
    }
    await this.terminate();
    return null;
  }
}
