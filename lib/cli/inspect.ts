import { statSync } from 'node:fs';
import { KeyflowError, codes } from '../shared/errors.js';
import { readManifest, type Manifest } from '../calling-thread/durability/manifest.js';
import { verifySnapshot } from '../shared/durability/snapshot-file.js';
import { readSegment } from '../shared/durability/wal.js';
import { isSnapshotName, isStateDir, listDir, listSegments, listWalDirs, segmentName, snapshotsRoot } from '../shared/durability/state-layout.js';

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

export interface Inspection {
  /** The report, for stdout. */
  text: string;
  /** One line per file that failed its checks (its path, the offset and what is wrong). */
  corrupt: string[];
}

/** Run a check; its failure, as the problem it reports. */
function check(verify: () => void): string | null {
  try {
    verify();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A state directory is one keyflow has written: fail clearly on a path that is missing or is not one. */
function checkIsStateDir(stateDir: string): void {
  const stat = statSync(stateDir, { throwIfNoEntry: false });
  if (!stat) throw new KeyflowError(codes.STATE_DIR, `state directory ${stateDir} does not exist`);
  if (!stat.isDirectory()) throw new KeyflowError(codes.STATE_DIR, `${stateDir} is not a directory, so not a keyflow state directory`);
  if (!isStateDir(stateDir)) {
    throw new KeyflowError(codes.STATE_DIR, `${stateDir} is not a keyflow state directory (it holds no MANIFEST.json, snapshots/ or wal/)`);
  }
}

/**
 * `keyflow inspect`: what a state directory holds — checkpoints, snapshots, WAL segments, source
 * positions — and whether it is intact: the manifest's, every snapshot's and every WAL record's CRC.
 */
export function inspect(stateDir: string): Inspection {
  checkIsStateDir(stateDir);
  const out: string[] = [`state directory ${stateDir}`];
  const corrupt: string[] = [];
  const verdict = (problem: string | null) => {
    if (problem === null) return 'ok';
    corrupt.push(problem);
    return `CORRUPT: ${problem}`;
  };
  let manifest: Manifest | null = null;
  let manifestProblem: string | null = null;
  try {
    manifest = readManifest(stateDir);
  } catch (err) {
    manifestProblem = err instanceof Error ? err.message : String(err);
  }
  if (manifestProblem !== null) {
    out.push(`MANIFEST.json ${verdict(manifestProblem)}`);
  } else if (!manifest) {
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
  // Every file under snapshots/, not only the snapshots: whatever else lies there is shown too.
  for (const dir of listDir(snapshotsRoot(stateDir))) {
    for (const file of listDir(dir.path)) {
      const size = statSync(file.path).size;
      snapshotTotal += size;
      // A .tmp is a write a crash cut short: never renamed into place, never read.
      const state = isSnapshotName(file.name) ? verdict(check(() => verifySnapshot(file.path))) : 'not a snapshot (an unfinished write): ignored';
      out.push(`  ${dir.name}/${file.name}  ${bytes(size)}  ${state}`);
    }
  }
  let walTotal = 0;
  out.push('', 'WAL segments:');
  for (const actor of listWalDirs(stateDir)) {
    const segments = listSegments(actor.path);
    segments.forEach(([id, path], i) => {
      const size = statSync(path).size;
      walTotal += size;
      let torn = 0;
      const problem = check(() => { torn = readSegment(path, i === segments.length - 1).tornBytes; });
      const state = problem === null && torn > 0 ? `ok, but a torn last record of ${torn} bytes (cut off at recovery)` : verdict(problem);
      out.push(`  ${actor.name}/${segmentName(id)}  ${bytes(size)}  ${state}`);
    });
  }
  out.push('', `total: snapshots ${bytes(snapshotTotal)}, WAL ${bytes(walTotal)}`);
  out.push(corrupt.length === 0 ? 'every CRC checked: intact' : `${corrupt.length} corrupt file(s)`);
  return { text: out.join('\n') + '\n', corrupt };
}
