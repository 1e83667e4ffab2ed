/**
 * A pipeline's results (or late events) published to a NATS JetStream subject exactly once.
 *
 * The actors number outputs per key-group, the same in a replay, so each output is published with the
 * message id `<state id>:<pipeline>:<output>:<key-group>:<number>` (Nats-Msg-Id): what a replay after a crash
 * publishes again, the server drops as a duplicate, within its stream's duplicate window. A checkpoint
 * completes only once the server has acknowledged every output published before its barrier (commit()),
 * so a recovered run never starts past outputs the stream may not hold. A publish that fails (the server
 * gone) is tried again, with the same id, until it succeeds or `retryForMs` runs out; then the engine fails.
 * Outputs are published in order, but one tried again lands after those that did not fail: the stream then
 * holds them out of order (each still once).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { KeyflowError, codes, describeThrown } from '../../shared/errors.js';
import { handledWhereAwaited } from '../../shared/ignore.js';
import { ndjsonLineOrError, type LineBatchView } from '../../shared/codec/line-batch.js';
import { connectJetStream, type JetStreamServers } from '../jetstream-connection.js';
import type { ExactlyOnceSink, SinkOutput } from './sink-set.js';

export interface JetStreamSinkOptions extends JetStreamServers {
  /** The subject each output is published to (a stream must take it). */
  subject: string;
  /** Publishes awaiting the server's acknowledgement before the outputs wait for them (default 4096). */
  maxInFlight?: number;
  /** How long a publish is retried while the server cannot be reached, before the engine fails (default 60 s). */
  retryForMs?: number;
  /**
   * What stop() fires at the end of input (every window still open), after the final checkpoint: 'hold'
   * (the default with a state directory) publishes none of it, as Flink's stop-with-savepoint fires nothing:
   * those windows stay in the checkpoint, and the run that resumes it publishes them once complete.
   * 'publish' publishes them too, for a last run: a run resumed after it would fire the same windows,
   * updated, under the same ids, which the server would drop. A message cannot be taken back, so what the end
   * of input fires, which a file sink writes and a resumed run cuts off, is published only on request.
   */
  atEnd?: 'hold' | 'publish';
}

const NEWLINE = 0x0a;
const RETRY_PAUSE_MS = 250;

export class JetStreamSink implements ExactlyOnceSink {
  readonly path: string;
  /** Resolves once connected to a server whose streams take the subject; rejects (and the engine fails) if not. */
  readonly ready: Promise<void>;
  private readonly connection: Promise<{ nc: NatsConnection; js: JetStreamClient }>;
  private readonly subject: string;
  private readonly idPrefix: string;
  /** The highest number published per key-group (this run), so a replay's outputs are not even sent twice. */
  private readonly high: Float64Array;
  private readonly inFlight = new Set<Promise<void>>();
  private room: { promise: Promise<void>; resolve: () => void } | null = null;
  private error: KeyflowError | null = null;
  private closed: Promise<void> | null = null;
  /** After the final checkpoint with `atEnd` 'hold': nothing more is published. */
  private holding = false;
  private readonly encoder = new TextEncoder();
  private readonly maxInFlight: number;
  private readonly retryForMs: number;
  /** Publishes the server acknowledged, and those it dropped as already held. */
  readonly counts = { published: 0, duplicates: 0 };

  /**
   * A sink for `pipeline`'s `output`, connecting as it is made: it takes outputs at once (the engine's plan
   * includes it before recovery emits anything), and publishes them once connected (see `ready`). `owner`:
   * the state directory's id (without one: this run's own), which the message ids carry, so that outputs of
   * a state directory started over are not taken for duplicates of the old one's.
   */
  constructor(private readonly options: JetStreamSinkOptions, pipeline: string, output: SinkOutput, owner: string, maxKeyGroups: number,
              private readonly onError: (err: KeyflowError) => void) {
    this.subject = options.subject;
    this.path = `nats subject ${options.subject}`;
    this.idPrefix = `${owner}:${pipeline}:${output}`;
    this.high = new Float64Array(maxKeyGroups);
    this.maxInFlight = options.maxInFlight ?? 4096;
    this.retryForMs = options.retryForMs ?? 60_000;
    this.connection = connectJetStream(options, `output to ${options.subject}`).then(async (c) => {
      try {
        await (await jetstreamManager(c.nc)).streams.find(options.subject);
      } catch (err) {
        await c.nc.close();
        throw new KeyflowError(codes.OUTPUT, `no JetStream stream takes subject ${options.subject} (${describeThrown(err)}): create one whose subjects include it`, { subject: options.subject });
      }
      return c;
    });
    this.ready = this.connection.then(() => {}, (err: unknown) => {
      this.failed(err);
      throw err;
    });
    this.ready.catch(handledWhereAwaited);
  }

  write(kg: number, n: number, value: unknown): Error | null {
    if (!this.claim(kg, n)) return null;
    const line = ndjsonLineOrError(value);
    if (line instanceof Error) return line;
    this.publish(kg, n, this.encoder.encode(line.slice(0, -1)));
    return null;
  }

  claim(kg: number, n: number): boolean {
    if (n <= this.high[kg] || this.error || this.holding) return false;
    this.high[kg] = n;
    return true;
  }

  writeLines(batch: LineBatchView): Promise<void> | void {
    const text = batch.text();
    for (let i = 0, start = 0; i < batch.count; i++) {
      const end = text.indexOf(NEWLINE, start);
      const kg = batch.keyGroup(i);
      const n = batch.number(i);
      if (this.claim(kg, n)) this.publish(kg, n, text.subarray(start, end));
      start = end + 1;
    }
    return this.waitForRoom();
  }

  endOfInput(): void {
    this.holding = (this.options.atEnd ?? 'hold') === 'hold';
  }

  /** Resolves once the server holds every output published so far; rejects if one could not be published. */
  async commit(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.error) throw this.error;
  }

  /** Wait for what is in flight (without committing anything: there is nothing more to commit), then disconnect. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await Promise.all(this.inFlight);
      const { nc } = await this.connection.catch(() => ({ nc: null }));
      await nc?.close().catch((err: unknown) => this.failed(err));
    })();
    return this.closed;
  }

  /** A promise while as many publishes as allowed are in flight. */
  private waitForRoom(): Promise<void> | void {
    if (this.inFlight.size < this.maxInFlight || this.error) return;
    if (this.room === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.room = { promise, resolve };
    }
    return this.room.promise;
  }

  private publish(kg: number, n: number, payload: Uint8Array): void {
    const sent = this.send(payload, `${this.idPrefix}:${kg}:${n}`, performance.now() + this.retryForMs).finally(() => {
      this.inFlight.delete(sent);
      if (this.room !== null && this.inFlight.size < this.maxInFlight / 2) {
        this.room.resolve();
        this.room = null;
      }
    });
    this.inFlight.add(sent);
  }

  private async send(payload: Uint8Array, msgID: string, until: number): Promise<void> {
    // Copied before the first await: the payload may be a view of a batch whose buffer is used again.
    const data = payload.slice();
    let connection: { nc: NatsConnection; js: JetStreamClient };
    try {
      connection = await this.connection;
    } catch {
      return; // failed (see ready)
    }
    for (;;) {
      try {
        const ack = await connection.js.publish(this.subject, data, { msgID });
        if (ack.duplicate) this.counts.duplicates++;
        else this.counts.published++;
        return;
      } catch (err) {
        // The server refused it (too large, a stream limit): trying again cannot help.
        if (this.error || err instanceof JetStreamApiError || connection.nc.isClosed() || performance.now() >= until) {
          this.failed(err);
          return;
        }
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  }

  /** The sink publishes nothing more; the engine hears of it (and fails). */
  private failed(err: unknown): void {
    if (this.error) return;
    this.error = new KeyflowError(codes.OUTPUT, `cannot publish to ${this.subject}: ${describeThrown(err)}`, { subject: this.subject });
    this.room?.resolve();
    this.room = null;
    this.onError(this.error);
  }
}
