/**
 * Everything the calling thread knows about one actor, in one handle (as piscina keeps one WorkerInfo
 * per worker): its thread, the sender that fills its input ring, the reader of its output ring, how much
 * of its input it has made durable, what it is doing, and the comlink proxy of its control object.
 */
import type { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../shared/control-endpoint.js';
import { Activity } from '../shared/activity.js';
import type { ActorControl, ActorInit } from '../shared/actor-protocol.js';
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

  private constructor(readonly actor: number, readonly worker: Worker, init: ActorInit, crash: Error | null) {
    // Input frames go as soon as they are sealed (direct): the actor logs them before applying them.
    this.sender = new FrameSender(new RingWriter(init.input), init.frameRecords, undefined, true);
    this.output = new RingReader(init.output);
    this.durable = new DurableCounter(init.input);
    this.activity = new Activity(init.activity);
    this.control = Comlink.wrap<ActorControl>(nodeEndpoint(worker));
    this.inputControl = new Int32Array(init.input.control);
    this.outputControl = new Int32Array(init.output.control);
    this.capacity = init.input.data.byteLength;
    this.crash = crash;
    // Listening from the start: an 'error' event with no listener would crash the whole process.
    worker.on('error', (err) => {
      this.crash ??= err;
      this.onCrash?.(err);
    });
  }

  /**
   * Give an actor thread its work (`thread`: one already started, or the options to start a new one with)
   * and wait until it has loaded its pipelines and restored its state.
   */
  static async start(init: ActorInit, thread: ActorThread | ActorThreadOptions): Promise<ActorLink> {
    const started = thread instanceof ActorThread ? thread : new ActorThread(thread);
    let worker: Worker;
    try {
      worker = started.begin(init);
    } catch (err) {
      await started.worker.terminate();
      throw err;
    }
    const link = new ActorLink(init.actor, worker, init, started.failure);
    const crashed = new Promise<never>((_, reject) => {
      link.watchCrash((err) => reject(new KeyflowError(codes.WORKER, `actor ${init.actor} failed to start: ${err.message}`, err)));
    });
    try {
      const failure = await Promise.race([link.control.ready(), crashed]);
      if (failure === null) return link;
      const code = failure.code === codes.CORRUPT || failure.code === codes.STATE_DIR ? failure.code : codes.PIPELINE_MODULE;
      throw new KeyflowError(code, failure.message);
    } catch (err) {
      await worker.terminate();
      throw err;
    } finally {
      link.onCrash = null;
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

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}
