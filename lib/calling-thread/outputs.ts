import { Readable } from 'node:stream';

/**
 * One output of the engine (a pipeline's results, its late events, or the dead letters): a Node
 * Readable in object mode, so it is both an event emitter (`on('data')`) and an async iterator.
 * Reading slowly is backpressure: when a stream's buffer is full the engine stops taking output from
 * the actors, their output rings fill, and `ingest()` waits.
 */
export class OutputStream<T = unknown> extends Readable {
  constructor(private readonly wanted: () => void, highWaterMark: number) {
    super({ objectMode: true, highWaterMark });
  }

  override _read(): void {
    this.wanted();
  }

  /** A reader that gives up (destroys the stream) must not leave the engine waiting for it to read. */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.wanted();
    callback(err);
  }

  override [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return super[Symbol.asyncIterator]() as AsyncIterableIterator<T>;
  }
}

/**
 * The streams a user asked for, created on first request. Records for an output nobody asked for are
 * counted and dropped, so an unread output never stalls the engine (the actors then send only a count,
 * see output-plan.ts; `subscribed` tells it of a stream asked for after that).
 */
export class Outputs {
  private readonly streams = new Map<string, OutputStream>();
  private resume: (() => void) | null = null;
  private ended = false;

  /** Called once per new stream, with its name. */
  subscribed: (name: string) => void = () => {};

  constructor(private readonly highWaterMark = 16 * 1024) {}

  /** Whether someone asked for this output's stream. */
  has(name: string): boolean {
    return this.streams.has(name);
  }

  stream<T>(name: string): OutputStream<T> {
    let s = this.streams.get(name);
    if (s === undefined) {
      s = new OutputStream(() => this.wake(), this.highWaterMark);
      if (this.ended) s.push(null);
      this.streams.set(name, s);
      this.subscribed(name);
    }
    return s as OutputStream<T>;
  }

  /**
   * Deliver one record; false means a reader is behind and the caller should `await drained()`. After
   * endAll() (the engine failed or stopped) records still in flight are dropped.
   */
  deliver(name: string, value: unknown): boolean {
    const s = this.streams.get(name);
    if (s === undefined || s.destroyed || this.ended) return true;
    return s.push(value);
  }

  /** Resolves when some stream asks for more. */
  drained(): Promise<void> {
    return new Promise((resolve) => (this.resume = resolve));
  }

  endAll(): void {
    this.ended = true;
    for (const s of this.streams.values()) if (!s.destroyed) s.push(null);
    this.wake();
  }

  private wake(): void {
    const r = this.resume;
    this.resume = null;
    r?.();
  }
}
