/** What a partition group's state in JetStream is called (partition-group.ts makes it, `keyflow inspect` reads it). */
export const DEFAULT_BUCKET = 'keyflow';
export const leasesBucket = (prefix: string) => `${prefix}-leases`;
export const checkpointsBucket = (prefix: string) => `${prefix}-checkpoints`;
export const snapshotsBucket = (prefix: string) => `${prefix}-snapshots`;
/** A partition's key in the leases and checkpoints buckets. */
export const partitionKey = (partition: number) => `p${partition}`;
/** The durable consumer a partition is read with. */
export const partitionConsumer = (prefix: string, partition: number) => `${prefix}-${partitionKey(partition)}`;
