import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../durability/manifest.js';
import { listSegments } from '../durability/wal.js';
import { snapshotsRoot, walRoot } from '../durability/layout.js';

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** `keyflow inspect`: what a state directory holds — checkpoints, snapshots, WAL segments, source positions. */
export function inspect(stateDir: string): string {
  const out: string[] = [`state directory ${stateDir}`];
  const manifest = readManifest(stateDir);
  if (!manifest) {
    out.push('no completed checkpoint (no MANIFEST.json)');
  } else {
    out.push(`key-groups ${manifest.maxKeyGroups}; pipelines ${manifest.pipelines.join(', ')}`, '', 'checkpoints (oldest first):');
    for (const c of manifest.checkpoints) {
      const sources = c.sources.length === 0 ? 'none' : c.sources.map(([name, pos]) => `${name} @ ${pos}`).join(', ');
      out.push(`  #${c.id}  ${c.completedAt}  workers ${c.workers}  snapshots ${bytes(c.snapshotBytes)} (${c.keys ?? 0} keys)  sources: ${sources}`);
    }
    const last = manifest.checkpoints.at(-1);
    if (last) out.push(`last checkpoint: #${last.id} at ${last.completedAt}`);
  }
  let snapshotTotal = 0;
  out.push('', 'snapshots:');
  for (const id of entries(snapshotsRoot(stateDir))) {
    for (const f of entries(join(snapshotsRoot(stateDir), id))) {
      const size = statSync(join(snapshotsRoot(stateDir), id, f)).size;
      snapshotTotal += size;
      out.push(`  ${id}/${f}  ${bytes(size)}`);
    }
  }
  let walTotal = 0;
  out.push('', 'WAL segments:');
  for (const actor of entries(walRoot(stateDir))) {
    for (const [id, path] of listSegments(join(walRoot(stateDir), actor))) {
      const size = statSync(path).size;
      walTotal += size;
      out.push(`  ${actor}/${String(id).padStart(8, '0')}.wal  ${bytes(size)}`);
    }
  }
  out.push('', `total: snapshots ${bytes(snapshotTotal)}, WAL ${bytes(walTotal)}`);
  return out.join('\n') + '\n';
}
