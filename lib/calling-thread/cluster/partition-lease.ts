/**
 * A lease on one partition, held in a JetStream key-value bucket whose entries expire (the bucket's TTL):
 * made with create() (refused while another holder's entry lives), renewed by a compare-and-set on the
 * entry's revision (refused once another process has taken it after it expired). A holder that cannot renew
 * has lost the partition and must stop working on it at once.
 */
import type { KV } from '@nats-io/kv';
import { abandoned } from '../../shared/ignore.js';

export class PartitionLease {
  private renewedAt = performance.now();

  private constructor(private readonly kv: KV, readonly key: string, private readonly owner: string, private readonly ttlMs: number,
                      private revision: number) {}

  /** The lease, or null while another process holds it. */
  static async acquire(kv: KV, key: string, owner: string, ttlMs: number): Promise<PartitionLease | null> {
    try {
      return new PartitionLease(kv, key, owner, ttlMs, await kv.create(key, owner));
    } catch {
      return null;
    }
  }

  /**
   * False once the lease is lost: another process wrote the entry since (it had expired), or the server
   * could not be reached for as long as a lease lives (it may have expired meanwhile).
   */
  async renew(): Promise<boolean> {
    try {
      this.revision = await this.kv.update(this.key, this.owner, this.revision);
      this.renewedAt = performance.now();
      return true;
    } catch (err) {
      // A server away (restarting, say) is waited for while the lease may still live.
      const refused = /wrong last sequence/.test((err as Error).message);
      return !refused && performance.now() - this.renewedAt < this.ttlMs;
    }
  }

  /** Let the partition go (another process may take it at once). */
  async release(): Promise<void> {
    await this.kv.delete(this.key, { previousSeq: this.revision }).catch(abandoned);
  }
}
