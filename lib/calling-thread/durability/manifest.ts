import { readFileSync } from 'node:fs';
import { KeyflowError, codes } from '../../shared/errors.js';
import { crc32c } from '../../shared/durability/crc32c.js';
import { durableFs as fs } from '../../shared/durability/durable-fs.js';
import { stateFileError, writeFileAtomic } from '../../shared/durability/files.js';
import { manifestPath } from '../../shared/durability/state-layout.js';

/** A completed checkpoint: every actor's snapshot is on disk and the sinks have committed up to it. */
export interface CheckpointRecord {
  id: number;
  /** Worker count when it was taken: snapshot files are per actor of that run. */
  workers: number;
  /**
   * Worker count of the run whose WAL segments follow it, when not `workers`: a rescaling pre-run's
   * checkpoint, recorded by the engine of the new count that logs after it (see CheckpointCoordinator.adopt).
   */
  walWorkers?: number;
  completedAt: string;
  /** Router state at the barrier: per pipeline, each source's largest event time (name → ms). */
  eventTimes: Array<Array<[string, number]>>;
  /** Exactly-once sources: name → highest position routed before the barrier. */
  sources: Array<[string, number]>;
  snapshotBytes: number;
  /** Keys whose state the snapshots hold. */
  keys: number;
}

export interface Manifest {
  version: 1;
  maxKeyGroups: number;
  pipelines: string[];
  /** The latest completed checkpoints, oldest first (the previous one is kept for repair). */
  checkpoints: CheckpointRecord[];
}

/** The worker count whose WALs hold what came after checkpoint `c`: recovery replays them under that count. */
export const walWorkersOf = (c: CheckpointRecord): number => c.walWorkers ?? c.workers;

export function readManifest(stateDir: string): Manifest | null {
  let text: string;
  try {
    text = readFileSync(manifestPath(stateDir), 'utf8');
  } catch {
    return null;
  }
  const nl = text.indexOf('\n');
  const crc = Number(text.slice(0, nl));
  const body = text.slice(nl + 1);
  if (nl < 0 || crc !== crc32c(Buffer.from(body))) {
    throw new KeyflowError(codes.CORRUPT, `${manifestPath(stateDir)} is corrupt (CRC mismatch); refusing to start`, { path: manifestPath(stateDir), offset: 0 });
  }
  return JSON.parse(body) as Manifest;
}

/** The manifest is one line of CRC, then JSON; replaced atomically. */
export function writeManifest(stateDir: string, manifest: Manifest): void {
  const path = manifestPath(stateDir);
  const body = JSON.stringify(manifest, null, 2);
  try {
    fs.mkdirSync(stateDir, { recursive: true }); // made durable when the engine took it (lockStateDir)
    writeFileAtomic(path, Buffer.from(`${crc32c(Buffer.from(body))}\n${body}`));
  } catch (err) {
    throw stateFileError('write', path, err);
  }
}
