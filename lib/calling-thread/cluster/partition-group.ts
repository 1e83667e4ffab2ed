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
import { connectJetStream, type JetStreamServers } from '../jetstream-connection.js';
import type { StartOptions } from '../options.js';
import { CheckpointStore } from './checkpoint-store.js';
import { PartitionLease } from './partition-lease.js';
import { DEFAULT_BUCKET, checkpointsBucket, leasesBucket, partitionConsumer, partitionKey, snapshotsBucket } from './names.js';

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
  /** Take over partitions whose owner's lease expired, and, after three lease times, any partition nobody runs (default true). */
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
  engine?: Pick<StartOptions, 'workers' | 'sourceThreads' | 'maxKeyGroups' | 'execArgv' | 'onError'>;
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
  lease: PartitionLease;
  store: CheckpointStore;
  engine: Engine;
  stateId: string;
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
  const leases = await new Kvm(nc).create(leasesBucket(bucket), { ttl, history: 1 });
  const pointers = await new Kvm(nc).create(checkpointsBucket(bucket), { history: 1 });
  const objects = await new Objm(nc).create(snapshotsBucket(bucket));
  const group = new Group(options, start, nc, leases, pointers, objects, prefer, ttl);
  await group.scan();
  group.keepUp();
  return group;
}

class Group implements PartitionGroup {
  readonly owner = randomUUID();
  private readonly running = new Map<number, Running>();
  private readonly startedAt = performance.now();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Renewals and scans under way: stop() waits for them. */
  private readonly ticking = new Set<Promise<void>>();
  private stopping = false;

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
    const renewing = this.serialized(() => this.renew());
    const scanning = this.serialized(() => this.scan());
    this.timers.push(setInterval(renewing, every), setInterval(scanning, every));
  }

  /** `task` run by a timer, never twice at once; a failure (the server away, say) waits for the next tick. */
  private serialized(task: () => Promise<void>): () => void {
    let running: Promise<void> | null = null;
    return () => {
      running ??= task().catch(() => undefined).then(() => { running = null; });
      this.ticking.add(running);
      void running.then(() => this.ticking.delete(running!));
    };
  }

  /** Renew the leases held: a partition whose lease is lost stops at once. */
  private async renew(): Promise<void> {
    await Promise.all([...this.running].map(async ([p, r]) => {
      if (!(await r.lease.renew())) await this.lose(p, 'its lease was taken');
    }));
  }

  /** Take the partitions due: those preferred, and those of a process gone (see `takeover`). */
  async scan(): Promise<void> {
    const takeover = this.options.takeover ?? true;
    const graceOver = performance.now() - this.startedAt > 3 * this.ttl;
    for (let p = 0; p < this.options.partitions && !this.stopping; p++) {
      if (this.running.has(p)) continue;
      const preferred = this.prefer.includes(p);
      if (!preferred && !takeover) continue;
      // Not preferred: only a partition that has run before and whose owner is gone, or, after a grace time, any.
      if (!preferred && !graceOver && (await this.pointers.get(partitionKey(p)))?.operation !== 'PUT') continue;
      await this.take(p).catch((err: unknown) => this.options.onChange?.({ partition: p, event: 'failed', detail: describeThrown(err) }));
    }
  }

  private async take(p: number): Promise<void> {
    const lease = await PartitionLease.acquire(this.leases, partitionKey(p), this.owner, this.ttl);
    if (lease === null) return;
    try {
      const store = new CheckpointStore(this.pointers, this.objects, partitionKey(p));
      const pointer = await store.claim(this.owner);
      const dir = join(this.options.stateDir, partitionKey(p));
      await rm(dir, { recursive: true, force: true });
      await store.restore(pointer, dir);
      const engine = await this.start({
        module: this.options.module, ...(this.options.pipelines ? { pipelines: this.options.pipelines } : {}),
        workers: 1, sourceThreads: 0, ...this.options.engine,
        stateDir: dir, durability: 'none', snapshotEveryMs: this.options.snapshotEveryMs ?? 5_000,
      });
      const r: Running = { lease, store, engine, stateId: pointer.stateId, reading: Promise.resolve(), uploading: Promise.resolve(), next: null };
      engine.onCheckpoint((record) => this.keep(p, r, record));
      for (const o of this.options.outputs) {
        const sink = { servers: this.options.servers, subject: o.subject, atEnd: this.options.atEnd ?? 'hold' };
        if (o.output === 'late') await engine.publishLateTo(o.pipeline, sink);
        else await engine.publishResultsTo(o.pipeline, sink);
      }
      this.running.set(p, r);
      this.options.onChange?.({ partition: p, event: 'taken' });
      r.reading = engine.ingestJetStream({
        servers: this.options.servers, stream: this.options.stream, subject: `${this.options.subjectPrefix}.${p}`,
        consumer: partitionConsumer(this.options.bucket ?? DEFAULT_BUCKET, p), untilCaughtUp: this.options.untilCaughtUp ?? false,
      }).then(() => this.options.onChange?.({ partition: p, event: 'caught-up' }), async (err: unknown) => {
        if (this.running.get(p) === r) await this.lose(p, `its engine failed: ${describeThrown(err)}`);
      });
    } catch (err) {
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
      // A checkpoint that cannot be kept (the server away) leaves the previous one to take over from.
      const kept = await r.store.upload(join(this.options.stateDir, partitionKey(p)), latest, this.owner, r.stateId).catch(() => true);
      if (!kept && this.running.get(p) === r) await this.lose(p, 'another process took it over');
    });
  }

  /** Stop running partition `p` at once (no final checkpoint: another process owns it now, or its engine failed). */
  private async lose(p: number, why: string): Promise<void> {
    const r = this.running.get(p);
    if (r === undefined) return;
    this.running.delete(p);
    this.options.onChange?.({ partition: p, event: 'lost', detail: why });
    await r.engine.abort();
    await r.lease.release();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all(this.ticking);
    await Promise.all([...this.running].map(async ([p, r]) => {
      this.running.delete(p);
      await r.engine.stop().catch(reportedElsewhere);
      await r.reading;
      await r.uploading;
      await r.lease.release();
    }));
    await this.nc.close().catch(abandoned);
  }
}
