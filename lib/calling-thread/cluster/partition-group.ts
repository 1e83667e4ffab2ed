/**
 * Processes that share a JetStream stream's partitions (`joinPartitions()`), as Kafka Streams instances
 * share a topic's: the stream's subjects `<prefix>.0` … `<prefix>.<n-1>` are the partitions (producers
 * publish by partitionOf()), and each partition is run by one process at a time, by an engine of its own
 * (its own state directory, consumer and outputs). A process holds a lease on each partition it runs
 * (partition-lease.ts) and keeps the partition's checkpoints in JetStream (checkpoint-store.ts); when a
 * process dies, its leases expire and the others take its partitions over from their last checkpoints,
 * reading the stream again from there. Outputs carry the partition's state id in their message ids, the
 * same on every host, so what a takeover publishes again the server drops as a duplicate.
 *
 * The stream is the log: a partition's engine keeps no write-ahead log (durability 'none'); what came after
 * its last checkpoint is read again from the stream.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { configError, describeThrown } from '../../shared/errors.js';
import { abandoned, reportedElsewhere } from '../../shared/ignore.js';
import type { CheckpointRecord } from '../durability/manifest.js';
import type { Engine } from '../engine.js';
import { connectJetStream, credentialsOf, type JetStreamServers } from '../jetstream-connection.js';
import type { StartOptions } from '../options.js';
import { CheckpointStore } from './checkpoint-store.js';
import { PartitionLease } from './partition-lease.js';
import { DEFAULT_BUCKET, checkpointsBucket, leasesBucket, partitionConsumer, partitionKey, snapshotsBucket } from './names.js';
import { jetstreamManager } from '@nats-io/jetstream';

export interface PartitionGroupOptions extends JetStreamServers {
  /** The pipeline module (as for start()) and, optionally, which of its pipelines run. */
  module: string;
  pipelines?: string[];
  /** The stream, and the prefix of its partition subjects: `<subjectPrefix>.<partition>`. */
  stream: string;
  subjectPrefix: string;
  /** How many partitions the stream has. */
  partitions: number;
  /** Partitions this process takes when it starts (default: all). */
  prefer?: number[];
  /** After three lease times, take any partition whose lease is free: a dead process's, or one nobody prefers (default true). */
  takeover?: boolean;
  /** Outputs, each to a subject, exactly once (see Engine.publishResultsTo()). */
  outputs: Array<{ pipeline: string; subject: string; output?: 'results' | 'late' }>;
  /** What stop() fires at the end of input (see JetStreamSinkOptions.atEnd; default 'hold'). */
  atEnd?: 'hold' | 'publish';
  /** A local directory; each partition run here works in a sub-directory (replaced when it is taken). */
  stateDir: string;
  /** Prefix of the key-value buckets and object store this group keeps leases and checkpoints in (default 'keyflow'). */
  bucket?: string;
  /** How long a lease lives without renewal (default 10 s): how long a dead process's partitions wait. */
  leaseTtlMs?: number;
  /** Checkpoint every … (default 5 s): how much of the stream a takeover reads again. */
  snapshotEveryMs?: number;
  /** End each partition's read once caught up with what its subject held when it began (default: read until stop()). */
  untilCaughtUp?: boolean;
  /** Options for each partition's engine (workers default 1, sourceThreads 0). */
  engine?: Pick<StartOptions, 'workers' | 'sourceThreads' | 'maxKeyGroups' | 'execArgv' | 'actorResourceLimits' | 'onError'>;
  /** Hears of this process taking, catching up on and losing partitions. */
  onChange?: (change: { partition: number; event: 'taken' | 'caught-up' | 'lost' | 'failed'; detail?: string }) => void;
}

export interface PartitionGroup {
  /** This process's id in the leases. */
  readonly owner: string;
  /** The partitions this process runs now. */
  owned(): number[];
  /** Stop every partition's engine (a final checkpoint each, kept in JetStream) and let the leases go. */
  stop(): Promise<void>;
}

/** One partition run here. */
interface Running {
  /** This run's id: names its checkpoint objects (a partition lost and taken again is another run). */
  id: string;
  /** Set once the partition is lost: its uploads stop. */
  lost: boolean;
  store: CheckpointStore;
  engine: Engine;
  stateId: string;
  /** The durable consumer this owner reads the partition with. */
  consumer: string;
  reading: Promise<void>;
  /** Checkpoints are kept in order, one at a time; the latest waiting one replaces an older. */
  uploading: Promise<void>;
  next: CheckpointRecord | null;
}

export async function joinPartitions(options: PartitionGroupOptions, start: (o: StartOptions) => Promise<Engine>): Promise<PartitionGroup> {
  const { partitions } = options;
  if (!Number.isSafeInteger(partitions) || partitions < 1) throw configError(`joinPartitions(): partitions must be an integer >= 1, not ${String(partitions)}`);
  const prefer = options.prefer ?? Array.from({ length: partitions }, (_, p) => p);
  if (prefer.some((p) => !Number.isSafeInteger(p) || p < 0 || p >= partitions)) throw configError(`joinPartitions(): prefer names partitions from 0 to ${partitions - 1}`);
  const ttl = options.leaseTtlMs ?? 10_000;
  const bucket = options.bucket ?? DEFAULT_BUCKET;
  const { nc } = await connectJetStream(options, `partitions of ${options.stream}`);
  let group: Group | null = null;
  try {
    const leases = await new Kvm(nc).create(leasesBucket(bucket), { ttl, history: 1 });
    const pointers = await new Kvm(nc).create(checkpointsBucket(bucket), { history: 1 });
    const objects = await new Objm(nc).create(snapshotsBucket(bucket));
    group = new Group(options, start, nc, leases, pointers, objects, prefer, ttl);
    group.keepUp();
    await group.scan();
    return group;
  } catch (err) {
    if (group) await group.stop();
    else await nc.close().catch(abandoned);
    throw err;
  }
}

class Group implements PartitionGroup {
  readonly owner = randomUUID();
  /** The leases this process holds, from the moment each is acquired (renewed while a partition is being taken too). */
  private readonly held = new Map<number, PartitionLease>();
  private readonly running = new Map<number, Running>();
  /** Partitions being let go (see lose()): not taken again until they are. */
  private readonly leaving = new Set<number>();
  private readonly startedAt = performance.now();
  private scanTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  /** Scans and partitions being let go, and renewals: stop() waits for them (the renewals, last). */
  private readonly pending = new Set<Promise<void>>();
  private readonly renewals = new Set<Promise<void>>();
  private stopping = false;
  private stopped: Promise<void> | null = null;

  constructor(private readonly options: PartitionGroupOptions, private readonly start: (o: StartOptions) => Promise<Engine>,
              private readonly nc: NatsConnection, private readonly leases: KV, private readonly pointers: KV,
              private readonly objects: ObjectStore, private readonly prefer: number[], private readonly ttl: number) {}

  owned(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }

  /**
   * Renew every lease a third of its life in, and look for partitions to take as often. Each on its own:
   * taking a partition starts an engine, which must not hold up the renewals of the others.
   */
  keepUp(): void {
    const every = Math.max(50, this.ttl / 3);
    this.renewTimer = setInterval(this.serialized(() => this.renew(), this.renewals), every);
    this.scanTimer = setInterval(this.serialized(() => this.scan(), this.pending), every);
  }

  /** `task` run by a timer, never twice at once, kept `in` a set; a failure (the server away, say) waits for the next tick. */
  private serialized(task: () => Promise<void>, into: Set<Promise<void>>): () => void {
    let running: Promise<void> | null = null;
    return () => {
      if (running !== null) return;
      const run: Promise<void> = task().catch(() => undefined).then(() => { running = null; });
      running = run;
      this.track(run, into);
    };
  }

  /** Keep `work` until it settles, for stop() to wait on. */
  private track(work: Promise<void>, into = this.pending): void {
    into.add(work);
    void work.then(() => into.delete(work));
  }

  /** Renew the leases held: a partition whose lease is lost stops at once (without holding up the other renewals). */
  private async renew(): Promise<void> {
    await Promise.all([...this.held].map(async ([p, lease]) => {
      // A lease that is not the partition's any more (lost meanwhile, and taken again) says nothing of the new run.
      if (await lease.renew() || this.held.get(p) !== lease) return;
      this.track(this.lose(p, 'its lease was taken'));
    }));
  }

  /**
   * Take the partitions due: those preferred, and, once this process has run three lease times (so that
   * the processes of a group starting together each get what they prefer), any other whose lease is free:
   * a process gone (see `takeover`), or a partition nobody prefers.
   */
  async scan(): Promise<void> {
    const takeover = (this.options.takeover ?? true) && performance.now() - this.startedAt > 3 * this.ttl;
    for (let p = 0; p < this.options.partitions && !this.stopping; p++) {
      if (this.held.has(p) || this.leaving.has(p) || (!takeover && !this.prefer.includes(p))) continue;
      await this.take(p).catch((err: unknown) => this.tell({ partition: p, event: 'failed', detail: describeThrown(err) }));
    }
  }

  private async take(p: number): Promise<void> {
    const lease = await PartitionLease.acquire(this.leases, partitionKey(p), this.owner, this.ttl);
    if (lease === null) return;
    this.held.set(p, lease);
    let engine: Engine | null = null;
    try {
      const store = new CheckpointStore(this.pointers, this.objects, partitionKey(p));
      // Each owner reads with a consumer of its own; the claim deletes the previous owner's, so that one,
      // should it still be pulling (paused past its lease), fails instead of taking messages from this one.
      const consumer = `${partitionConsumer(this.options.bucket ?? DEFAULT_BUCKET, p)}-${this.owner.slice(0, 8)}`;
      const { pointer, previousConsumer } = await store.claim(this.owner, consumer);
      if (previousConsumer !== undefined && previousConsumer !== consumer) {
        await this.jsm().then((jsm) => jsm.consumers.delete(this.options.stream, previousConsumer)).catch(abandoned);
      }
      const dir = join(this.options.stateDir, partitionKey(p));
      await rm(dir, { recursive: true, force: true });
      await store.restore(pointer, dir);
      engine = await this.start({
        module: this.options.module, ...(this.options.pipelines ? { pipelines: this.options.pipelines } : {}),
        workers: 1, sourceThreads: 0, ...this.options.engine,
        stateDir: dir, durability: 'none', snapshotEveryMs: this.options.snapshotEveryMs ?? 5_000,
      });
      const r: Running = { id: `${this.owner}-${randomUUID().slice(0, 8)}`, lost: false, store, engine, stateId: pointer.stateId, consumer, reading: Promise.resolve(), uploading: Promise.resolve(), next: null };
      engine.onCheckpoint((record) => this.keep(p, r, record));
      for (const o of this.options.outputs) {
        const sink = { servers: this.options.servers, ...credentialsOf(this.options), subject: o.subject, atEnd: this.options.atEnd ?? 'hold' };
        if (o.output === 'late') await engine.publishLateTo(o.pipeline, sink);
        else await engine.publishResultsTo(o.pipeline, sink);
      }
      if (this.stopping) throw new Error('the group is stopping');
      if (this.held.get(p) !== lease) throw new Error('the lease was lost while the partition was being taken');
      this.running.set(p, r);
      this.tell({ partition: p, event: 'taken' });
      r.reading = engine.ingestJetStream({
        servers: this.options.servers, ...credentialsOf(this.options), stream: this.options.stream, subject: `${this.options.subjectPrefix}.${p}`,
        consumer, untilCaughtUp: this.options.untilCaughtUp ?? false,
      }).then(() => this.tell({ partition: p, event: 'caught-up' }), async (err: unknown) => {
        if (this.running.get(p) === r) await this.lose(p, `its engine failed: ${describeThrown(err)}`);
      });
    } catch (err) {
      if (this.held.get(p) === lease) this.held.delete(p);
      await engine?.abort();
      await lease.release();
      throw err;
    }
  }

  /** Keep checkpoint `record` of partition `p` in JetStream; if the partition was taken over meanwhile, stop it. */
  private keep(p: number, r: Running, record: CheckpointRecord): void {
    const waiting = r.next !== null;
    r.next = record;
    if (waiting) return;
    r.uploading = r.uploading.then(async () => {
      const latest = r.next!;
      r.next = null;
      if (r.lost) return;
      // A checkpoint that cannot be kept (the server away) leaves the previous one to take over from.
      const kept = await r.store.upload(join(this.options.stateDir, partitionKey(p)), latest, this.owner, r.id, r.stateId, r.consumer).catch(() => true);
      if (!kept && this.running.get(p) === r) this.track(this.lose(p, 'another process took it over'));
    });
  }

  /**
   * Stop running partition `p` at once (no final checkpoint: another process owns it now, or its engine
   * failed). Not taken again here until its engine and uploads are done and its lease let go.
   */
  private async lose(p: number, why: string): Promise<void> {
    const r = this.running.get(p);
    const lease = this.held.get(p);
    this.held.delete(p);
    if (r === undefined) return;
    this.running.delete(p);
    r.lost = true;
    this.leaving.add(p);
    this.tell({ partition: p, event: 'lost', detail: why });
    try {
      await r.engine.abort();
      await r.uploading;
      await lease?.release();
    } finally {
      this.leaving.delete(p);
    }
  }

  /** Tell the listener; a listener that throws is not the group's failure. */
  private tell(change: Parameters<NonNullable<PartitionGroupOptions['onChange']>>[0]): void {
    try {
      this.options.onChange?.(change);
    } catch {
      // The listener's own error: the partitions go on.
    }
  }

  private jsm(): ReturnType<typeof jetstreamManager> {
    return jetstreamManager(this.nc);
  }

  /** Stop taking partitions; stop each one's engine (its final checkpoint kept), renewing the leases until then; let them go. */
  stop(): Promise<void> {
    this.stopped ??= this.leave();
    return this.stopped;
  }

  private async leave(): Promise<void> {
    this.stopping = true;
    if (this.scanTimer) clearInterval(this.scanTimer);
    while (this.pending.size > 0) await Promise.all(this.pending);
    await Promise.all([...this.running].map(async ([p, r]) => {
      this.running.delete(p);
      await r.engine.stop().catch(reportedElsewhere);
      await r.reading;
      await r.uploading;
    }));
    if (this.renewTimer) clearInterval(this.renewTimer);
    await Promise.all(this.renewals);
    while (this.pending.size > 0) await Promise.all(this.pending);
    await Promise.all([...this.held.values()].map((lease) => lease.release()));
    this.held.clear();
    await this.nc.close().catch(abandoned);
  }
}
