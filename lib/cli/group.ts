/**
 * `keyflow group`: this process joins the processes that share a JetStream stream's partitions (see
 * calling-thread/cluster/partition-group.ts) and runs its share until SIGINT or SIGTERM, then stops them (a
 * final checkpoint each, kept in JetStream) and lets their leases go. Each change of its partitions is a
 * line on stderr.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { joinPartitions } from '../calling-thread/entry-points.js';
import type { PartitionGroupOptions } from '../calling-thread/cluster/partition-group.js';
import { RunStop } from './run-stop.js';

export interface GroupArgs {
  module: string;
  pipelines?: string[];
  servers: string;
  stream: string;
  subjectPrefix: string;
  partitions: number;
  prefer?: number[];
  outputs: PartitionGroupOptions['outputs'];
  state: string;
  bucket?: string;
  leaseTtlMs?: number;
  snapshotEveryMs?: number;
  untilCaughtUp?: boolean;
  atEnd?: 'hold' | 'publish';
}

export async function group(args: GroupArgs): Promise<number> {
  const stop = new RunStop(false);
  try {
    const joined = await joinPartitions({
      module: pathToFileURL(resolve(args.module)).href, servers: args.servers, stream: args.stream, subjectPrefix: args.subjectPrefix,
      partitions: args.partitions, outputs: args.outputs, stateDir: args.state,
      ...(args.pipelines?.length ? { pipelines: args.pipelines } : {}),
      ...(args.prefer ? { prefer: args.prefer } : {}),
      ...(args.bucket ? { bucket: args.bucket } : {}),
      ...(args.leaseTtlMs !== undefined ? { leaseTtlMs: args.leaseTtlMs } : {}),
      ...(args.snapshotEveryMs !== undefined ? { snapshotEveryMs: args.snapshotEveryMs } : {}),
      ...(args.untilCaughtUp ? { untilCaughtUp: true } : {}),
      ...(args.atEnd ? { atEnd: args.atEnd } : {}),
      onChange: ({ partition, event, detail }) => process.stderr.write(`partition ${partition}: ${event}${detail ? `: ${detail}` : ''}\n`),
    });
    process.stderr.write(`joined the group of ${args.stream} as ${joined.owner}; SIGINT or SIGTERM to leave it\n`);
    // A signal may have come while joining.
    if (!stop.signal.aborted) await new Promise<void>((done) => stop.signal.addEventListener('abort', () => done(), { once: true }));
    await joined.stop();
    process.stderr.write('left the group: every partition checkpointed and let go\n');
    return stop.exitCode ?? 0;
  } catch (err) {
    process.stderr.write(`keyflow: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    stop.dispose();
  }
}

/** `0-2,5` → [0, 1, 2, 5]. */
export function partitionList(text: string): number[] | null {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from) return null;
    for (let p = from; p <= to; p++) out.push(p);
  }
  return out;
}
