/**
 * A NATS JetStream stream as a source (engine.ingestJetStream()): messages are pulled in batches with a
 * durable consumer; each message's payload is one JSON event, and its stream sequence is its position. A
 * batch becomes a chunk of NDJSON, one line per stream sequence (a sequence the consumer does not deliver,
 * deleted or of another subject, is a blank line), which the source threads parse and route like a file's
 * (see parallel-sources.ts): a bad message is a dead letter naming the stream and its sequence as the line.
 *
 * Exactly once: checkpoints keep the highest sequence routed (the source's position), and a run on the same
 * state directory starts its consumer after it (on a work queue, at the first message not acknowledged,
 * passing over those up to it). The consumer acknowledges (ack policy "all") up to a checkpoint's position
 * once the checkpoint is complete, never before; on a work-queue stream, which takes only explicit
 * acknowledgements, each message is acknowledged (and so removed from the stream) then. Without a state
 * directory there is nothing to resume from: messages are acknowledged as they are read.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, jetstreamManager, type ConsumerInfo, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { KeyflowError, codes, configError, describeThrown } from '../../shared/errors.js';
import { abandoned } from '../../shared/ignore.js';
import { forEachBatch } from '../../shared/ndjson-lines.js';
import type { CheckpointRecord } from '../durability/manifest.js';
import { connectJetStream, type JetStreamServers } from '../jetstream-connection.js';
import { ingestChunks, type Chunk, type SourceContext } from './parallel-sources.js';
import { untilAborted } from './until-aborted.js';

export interface JetStreamSourceOptions extends JetStreamServers {
  /** The stream to read. */
  stream: string;
  /** Only its messages on this subject (wildcards allowed). */
  subject?: string;
  /** The durable consumer keyflow reads with and acknowledges on (default: `keyflow-` and the source id); made anew at each start. */
  consumer?: string;
  /** Exactly-once: the name whose position checkpoints keep (default `nats:<stream>`, or `nats:<stream>:<subject>`). */
  sourceId?: string;
  /** Messages per pull (default 1000). */
  batch?: number;
  /** End once every message the stream held when reading began is read (default: read until stop()). */
  untilCaughtUp?: boolean;
  /** How long pulls are tried again while the server cannot be reached, before the read fails (default 60 s). */
  retryForMs?: number;
  /**
   * On a work queue with a state directory: ask for a checkpoint once this many messages read wait for one to
   * acknowledge them (default 500,000; the source keeps about 100 bytes for each).
   */
  maxUnacknowledged?: number;
  /** Stops reading: the batches pulled by then are ingested, and the call resolves. */
  signal?: AbortSignal;
}

/** What the source needs of the engine beyond the parallel sources' context. */
export interface JetStreamSourceEngine {
  /** The state directory's checkpoints: null without one (nothing resumes, so messages are acknowledged as read). */
  checkpoints: {
    resumePosition(sourceId: string): number | undefined;
    onComplete(listener: (record: CheckpointRecord) => void): () => void;
    /** Take a checkpoint soon: a work queue's acknowledgements wait for one. */
    request(): void;
  } | null;
  /** Runs `close` as the engine lets go of its resources (after its final checkpoint). */
  atRelease(close: () => Promise<void>): void;
  /** Messages the stream holds past the last one read (the consumer's pending count), for the metrics. */
  lag(sourceId: string, messages: number): void;
}

const PULL_EXPIRES_MS = 1000;
/** How long a pull may take before it counts as failed (the server's answer is due within PULL_EXPIRES_MS). */
const PULL_DEADLINE_MS = PULL_EXPIRES_MS + 4000;
/** Unacknowledged messages are sent again after this long: longer than checkpoints are apart, or they come twice (and are passed over, and on a work queue acknowledged again). */
const ACK_WAIT_NS = 3_600 * 1e9;
const SPACE = 0x20;
/** Sequences skipped within a chunk as blank lines; a longer gap starts a chunk at the next message. */
const MAX_BLANK_LINES = 4096;
const RETRY_PAUSE_MS = 250;
/** How long stop() waits for the server to take the last acknowledgements. */
const FLUSH_MS = 5_000;
/** On a work queue, the source asks for a checkpoint once this many messages wait for one to be acknowledged (about 100 bytes each). */
const MAX_UNACKNOWLEDGED = 500_000;
/** The payload JetStream takes as a message's acknowledgement, on the message's reply subject. */
const ACK = new TextEncoder().encode('+ACK');

export async function ingestJetStream(options: JetStreamSourceOptions & { signal: AbortSignal }, context: SourceContext, engine: JetStreamSourceEngine): Promise<void> {
  const batchSize = options.batch ?? 1000;
  if (typeof options.stream !== 'string' || options.stream === '') throw configError('ingestJetStream(): stream must name a JetStream stream');
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw configError(`ingestJetStream(): batch must be an integer >= 1, not ${String(options.batch)}`);
  const maxUnacknowledged = options.maxUnacknowledged ?? MAX_UNACKNOWLEDGED;
  if (!Number.isSafeInteger(maxUnacknowledged) || maxUnacknowledged < 1) throw configError(`ingestJetStream(): maxUnacknowledged must be an integer >= 1, not ${String(options.maxUnacknowledged)}`);
  const { stream, subject } = options;
  const sourceId = options.sourceId ?? `nats:${stream}${subject === undefined ? '' : `:${subject}`}`;
  // One consumer per source: two sources on one stream must not make each other's anew.
  const durable = options.consumer ?? `keyflow-${sourceId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const { nc, js } = await connectJetStream(options, `source ${stream}`);
  // The connection outlives the read: stop()'s final checkpoint is acknowledged on it.
  let stopListening = () => {};
  let released = false;
  engine.atRelease(async () => {
    released = true;
    stopListening();
    // The final checkpoint's acknowledgements were just published: close() would drop what the client has not
    // written yet (hundreds of thousands on a work queue). A server that does not answer in time gets them
    // again from the next run, which passes those messages over and acknowledges them.
    await Promise.race([nc.flush(), new Promise((r) => setTimeout(r, FLUSH_MS).unref())]).catch(abandoned);
    await nc.close();
  });
  const jsm = await jetstreamManager(nc);
  const streamInfo = await jsm.streams.info(stream).catch((err: unknown) => {
    throw new KeyflowError(codes.INPUT, `cannot read JetStream stream ${stream}: ${describeThrown(err)}`, { stream });
  });
  // The consumer is made anew at every start and after a lost delivery: with interest retention the server
  // then drops the messages nobody is interested in, unread ones too.
  if (streamInfo.config.retention === RetentionPolicy.Interest) {
    throw configError(`ingestJetStream(): stream ${stream} has interest retention, which drops unread messages whenever keyflow makes its consumer anew; use limits or work-queue retention`);
  }
  // A work-queue stream holds only messages not acknowledged yet, and its consumers must deliver them all and
  // acknowledge each; elsewhere keyflow's checkpoint says where to start, and one acknowledgement covers those before it.
  const workQueue = streamInfo.config.retention === RetentionPolicy.Workqueue;
  const ackPolicy = workQueue ? AckPolicy.Explicit : AckPolicy.All;
  const first = streamInfo.state.first_seq;
  // Sequences before the stream's first are gone (its limits removed them): they cannot be read again.
  const from = Math.max((engine.checkpoints?.resumePosition(sourceId) ?? 0) + 1, first, 1);
  // keyflow's checkpoint, not the consumer, says where to resume: the consumer starts there each time (on a
  // work queue, at the first message not acknowledged: those before `start` among them are passed over).
  const open = async (start: number) => {
    await jsm.consumers.delete(stream, durable).catch((err: unknown) => {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    });
    const info = await jsm.consumers.add(stream, {
      durable_name: durable, ack_policy: ackPolicy,
      ...(workQueue ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
      ack_wait: ACK_WAIT_NS, max_ack_pending: -1, ...(subject === undefined ? {} : { filter_subject: subject }),
    });
    // An old consumer that survived (the add found it, same settings) would keep what it delivered and nobody read.
    if (info.delivered.consumer_seq !== 0) throw new Error(`consumer ${durable} was not made anew`);
    return { info, consumer: await js.consumers.get(stream, durable) };
  };
  const opened = await open(from);
  const consumerInfo = opened.info;
  let consumer = opened.consumer;
  const acks = new CheckpointAcks(nc, ackPolicy, engine.checkpoints === null);
  /** A checkpoint was asked for (see maxUnacknowledged) and has not completed yet. */
  let requested = false;
  stopListening = engine.checkpoints?.onComplete((record) => {
    const position = record.sources.find(([id]) => id === sourceId)?.[1];
    if (position !== undefined) acks.upTo(position);
    requested = false;
  }) ?? stopListening;
  // On a work queue the count includes the messages before `from`, passed over (see `passedOver`).
  let left = options.untilCaughtUp ? consumerInfo.num_pending : Infinity;
  engine.lag(sourceId, consumerInfo.num_pending);
  const retryForMs = options.retryForMs ?? 60_000;
  let failingSince: number | null = null;
  /** A pull failed: wait and pull again while the server may come back; throw if it cannot be read. `made`: the consumer was made (not while it is made anew). */
  const failed = async (err: unknown, made: boolean) => {
    // Closed by anything but the engine letting go of it (a fatal error of the client): the read cannot go on, and must not end as if done.
    if (nc.isClosed() && !released) {
      const why = await nc.closed();
      throw new KeyflowError(codes.INPUT, `the connection to NATS closed while reading stream ${stream}: ${describeThrown(why ?? err)}`, { stream });
    }
    // The clock runs from this failure, not from the answer below (which may take a request's timeout).
    failingSince ??= performance.now();
    const info = made ? await jsm.consumers.info(stream, durable).catch((e: unknown) => e) : null;
    if (info instanceof JetStreamApiError) {
      throw new KeyflowError(codes.INPUT, `cannot read JetStream stream ${stream} with consumer ${durable}: ${info.message} (another source using the same consumer?)`, { stream });
    }
    // The server answered: it is back (the pull may work now), so this failure does not end the read.
    const answered = info !== null && !(info instanceof Error);
    if (!answered && performance.now() - failingSince > retryForMs) throw new KeyflowError(codes.INPUT, `cannot read JetStream stream ${stream} for ${retryForMs} ms: ${describeThrown(err)}`, { stream });
    await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
  };
  /** A chunk of `lines` from sequence `first`, holding `messages`: acknowledged once a checkpoint covers them. */
  const chunkOf = (lines: Uint8Array[], first: number, messages: JsMsg[]): Chunk => {
    acks.add(messages);
    if (acks.size >= maxUnacknowledged && !requested) {
      requested = true;
      engine.checkpoints?.request();
    }
    return { input: { ndjson: joinLines(lines), atStart: false }, read: messages[messages.length - 1].seq + 1 - from, first };
  };
  const { signal } = options;
  const chunks = (async function* (): AsyncGenerator<Chunk> {
    /** The sequence after the last one read. */
    let next = from;
    /**
     * The consumer's delivery count so far: its deliveries are numbered one after another, so one missing
     * is a message it delivered that never arrived (a connection lost mid-pull, which the client may pull
     * past without an error). It is unacknowledged and would come again only after ack_wait: read as
     * sequences that are not there, it would be lost. The consumer is then made anew at the first sequence
     * not read (`reopen`), as after a pull that failed (on a work queue, at the first not acknowledged).
     */
    let delivered = 0;
    let reopen = false;
    /** Whether the first consumer's deliveries before `from` (on a work queue) count toward `left`: they are in its pending count. */
    let passedOver = true;
    while (left > 0 && !signal.aborted) {
      const batch: JsMsg[] = [];
      try {
        if (reopen) {
          consumer = (await open(next)).consumer;
          // Acknowledgements name the old consumer's deliveries; the new one's are acknowledged from here.
          acks.forget();
          delivered = 0;
          reopen = false;
          passedOver = false;
        }
        const pull = await consumer.fetch({ max_messages: Math.min(batchSize, left), expires: PULL_EXPIRES_MS });
        // A pull under way when the connection drops is never ended by the client: it fails here instead.
        const deadline = setTimeout(() => pull.stop(new Error(`a pull got no answer in ${PULL_DEADLINE_MS} ms`)), PULL_DEADLINE_MS);
        try {
          for await (const m of pull) batch.push(m);
        } finally {
          clearTimeout(deadline);
        }
      } catch (err) {
        if (released || signal.aborted) return;
        await failed(err, !reopen);
        // What a failed pull delivered is the consumer's (see `delivered`).
        reopen = true;
        continue;
      }
      if (batch.length === 0) {
        // Once the stream is read, an empty pull says nothing of the server: the consumer's info tells.
        let info: ConsumerInfo;
        try {
          info = await consumer.info();
        } catch (err) {
          if (released || signal.aborted) return;
          await failed(err, true);
          reopen = true;
          continue;
        }
        failingSince = null;
        // Delivered more than arrived, the last of the stream among them: pending says 0 without them.
        if (info.delivered.consumer_seq > delivered) reopen = true;
        // Caught up though fewer messages came than were pending (the stream's limits removed some): done.
        else if (options.untilCaughtUp && info.num_pending === 0) return;
        continue;
      }
      failingSince = null;
      engine.lag(sourceId, batch[batch.length - 1].info.pending);
      let lines: Uint8Array[] = [];
      let first = next;
      let messages: JsMsg[] = [];
      for (const m of batch) {
        if (m.info.deliverySequence !== delivered + 1) {
          reopen = true;
          break;
        }
        delivered = m.info.deliverySequence;
        if (m.seq < next) {
          // Routed already: sent again after ack_wait, or, on a work queue, not acknowledged yet when its consumer was made.
          acks.again(m);
          if (passedOver && m.seq < from) left--;
          continue;
        }
        // A long run of sequences the consumer skips (other subjects') starts a chunk of its own, rather than as many blank lines.
        if (m.seq - next > MAX_BLANK_LINES) {
          if (messages.length > 0) yield chunkOf(lines, first, messages);
          lines = [];
          messages = [];
          next = first = m.seq;
        }
        for (; next < m.seq; next++) lines.push(EMPTY);
        lines.push(oneLine(m.data));
        next = m.seq + 1;
        messages.push(m);
        left--;
      }
      if (messages.length > 0) yield chunkOf(lines, first, messages);
    }
  })();
  const src = await context.ingestion.lineSource(sourceId, true);
  if (context.pool !== null) {
    await ingestChunks(chunks, { name: sourceId, src, sourceId, skip: from - 1, signal }, context.pool, context);
    return;
  }
  // No source threads: parsed here, and routed by ingest().
  for await (const { input, first } of untilAborted(chunks, signal)) {
    const events: unknown[] = [];
    const positions: number[] = [];
    const bytes = (input as { ndjson: Uint8Array }).ndjson;
    const before = first! - 1;
    forEachBatch(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), false, batchSize, (b) => {
      for (const bad of b.bad) context.ingestion.reportBadLine({ ...bad, line: bad.line + before }, sourceId);
      for (let i = 0; i < b.events.length; i++) {
        events.push(b.events[i]);
        positions.push(b.lines[i] + before);
      }
    });
    if (events.length > 0) await context.ingestion.ingest(events, { sourceId, lines: positions });
  }
  context.failure.throwIfFailed();
  await context.ingestion.durable();
}

const EMPTY = new Uint8Array(0);

/** A message's payload as one line: JSON has no raw newline in a string, so any newline in it is whitespace. */
function oneLine(data: Uint8Array): Uint8Array {
  if (data.indexOf(0x0a) < 0 && data.indexOf(0x0d) < 0) return data;
  return data.map((b) => (b === 0x0a || b === 0x0d ? SPACE : b));
}

/** Lines joined by newlines, the last without one (a chunk of whole lines, see ndjson-chunks.ts), in a buffer of their own. */
function joinLines(lines: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(lines.reduce((n, l) => n + l.length + 1, -1));
  let at = 0;
  lines.forEach((l, i) => {
    if (i > 0) out[at++] = 0x0a;
    out.set(l, at);
    at += l.length;
  });
  return out;
}

/** What acknowledges a message: its stream sequence, and its reply subject, on which the server takes it. */
interface Ack {
  seq: number;
  reply: string;
}

/** What acknowledges `m`: its reply subject is public on the client's message class, though not on the JsMsg interface. */
function ackOf(m: JsMsg): Ack {
  const reply = (m as JsMsg & { reply?: unknown }).reply;
  if (typeof reply !== 'string' || reply === '') throw new Error(`JetStream message ${m.seq} has no reply subject to acknowledge it on`);
  return { seq: m.seq, reply };
}

/**
 * Messages read, acknowledged once a checkpoint covers them (at once when nothing resumes: `immediate`).
 * With ack policy "all" only the last of each chunk is kept (its acknowledgement covers every delivery
 * before it); with "explicit", each. What is kept is the sequence and reply subject, not the message, whose
 * payload and read buffer would stay alive with it (about a kilobyte a message).
 */
class CheckpointAcks {
  private waiting: Ack[] = [];

  constructor(private readonly nc: NatsConnection, private readonly policy: AckPolicy, private readonly immediate: boolean) {}

  /** Acknowledgements waiting for a checkpoint. */
  get size(): number {
    return this.waiting.length;
  }

  add(messages: readonly JsMsg[]): void {
    const last = messages[messages.length - 1];
    if (this.policy === AckPolicy.Explicit) for (const m of messages) this.waiting.push(ackOf(m));
    else this.waiting.push(ackOf(last));
    if (this.immediate) this.upTo(last.seq);
  }

  /**
   * A message routed already, delivered again (after ack_wait; on a work queue, also every message not
   * acknowledged yet when its consumer was made, those a checkpoint covers and those it does not yet):
   * acknowledged explicitly, it is acknowledged again once a checkpoint covers it.
   */
  again(m: JsMsg): void {
    // With ack policy "all" its acknowledgement would cover every delivery before it, those not checkpointed too.
    if (this.policy !== AckPolicy.Explicit) return;
    this.waiting.push(ackOf(m));
    if (this.immediate) this.upTo(m.seq);
  }

  /** The consumer was made anew: what waits names deliveries of the old one, which an acknowledgement now must not reach. */
  forget(): void {
    this.waiting.length = 0;
  }

  upTo(position: number): void {
    if (this.policy === AckPolicy.Explicit) {
      // Not in order: messages delivered again come after later ones.
      const left: Ack[] = [];
      for (const a of this.waiting) if (a.seq <= position) this.ack(a); else left.push(a);
      this.waiting = left;
      return;
    }
    let n = 0;
    while (n < this.waiting.length && this.waiting[n].seq <= position) n++;
    const covered = this.waiting.splice(0, n).at(-1);
    if (covered !== undefined) this.ack(covered);
  }

  private ack(a: Ack): void {
    this.nc.publish(a.reply, ACK);
  }
}
