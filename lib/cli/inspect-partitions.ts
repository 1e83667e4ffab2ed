/**
 * `keyflow inspect nats://HOST:PORT`: a partition group's state in JetStream (see
 * calling-thread/cluster/partition-group.ts): per partition, who holds its lease, its latest checkpoint kept
 * there (owner, state id, positions) and, with the stream named, its consumer's lag.
 */
import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectJetStream, splitCredentials } from '../calling-thread/jetstream-connection.js';
import type { CheckpointPointer } from '../calling-thread/cluster/checkpoint-store.js';
import { checkpointsBucket, leasesBucket } from '../calling-thread/cluster/names.js';

export async function inspectPartitions(servers: string, bucket: string, stream: string | undefined): Promise<string> {
  const { nc } = await connectJetStream({ servers }, 'inspect');
  try {
    const kvm = new Kvm(nc);
    const leases = await kvm.open(leasesBucket(bucket));
    const pointers = await kvm.open(checkpointsBucket(bucket));
    const jsm = await jetstreamManager(nc);
    const keys = new Set<string>();
    for (const kv of [leases, pointers]) for await (const k of await kv.keys()) keys.add(k);
    const partitions = [...keys].map((k) => Number(k.slice(1))).filter(Number.isInteger).sort((a, b) => a - b);
    const lines = [`partition group '${bucket}' on ${splitCredentials({ servers }).urls.join(', ')}: ${partitions.length} partitions${stream ? `, stream ${stream}` : ''}`];
    for (const p of partitions) {
      const lease = await leases.get(`p${p}`);
      const pointer = await pointers.get(`p${p}`);
      const held = lease?.operation === 'PUT' ? `lease held by ${lease.string()} (written ${ago(lease.created)})` : 'no lease (nobody runs it)';
      let kept = 'no checkpoint';
      let consumer: string | undefined;
      if (pointer?.operation === 'PUT') {
        const { owner, stateId, manifest } = pointer.json<CheckpointPointer>();
        consumer = pointer.json<CheckpointPointer>().consumer;
        const c = manifest?.checkpoints[0];
        kept = c === undefined ? `claimed by ${owner}, no checkpoint yet (state ${stateId})`
          : `checkpoint ${c.id} of ${c.completedAt} by ${owner} (state ${stateId}), at ${c.sources.map(([id, at]) => `${id} ${at}`).join(', ') || 'no position'}`;
      }
      let lag = '';
      if (stream && consumer) {
        const info = await jsm.consumers.info(stream, consumer).catch(() => null);
        lag = info === null ? '; no consumer' : `; lag ${info.num_pending} messages`;
      }
      lines.push(`  p${p}: ${held}; ${kept}${lag}`);
    }
    return lines.join('\n') + '\n';
  } finally {
    await nc.close();
  }
}

function ago(when: Date): string {
  return `${((Date.now() - when.getTime()) / 1000).toFixed(1)} s ago`;
}
