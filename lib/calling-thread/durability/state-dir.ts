import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { KeyflowError, codes, configError } from '../../shared/errors.js';
import { durableFs as fs } from '../../shared/durability/durable-fs.js';
import { fsyncDir, mkdirDurable, stateFileError, writeFileAtomic } from '../../shared/durability/files.js';
import { acquireLock, type Lock } from './lock.js';
import { readManifest, walWorkersOf, type CheckpointRecord, type Manifest } from './manifest.js';
import { verifySnapshot } from '../../shared/durability/snapshot-file.js';
import { idPath, listSegments, listSnapshotDirs, listWalDirs, lockPath, snapshotPath, walDirWorkers, walRoot, writeProbePath } from '../../shared/durability/state-layout.js';

export interface Recovery {
  manifest: Manifest | null;
  /** The checkpoint to restore, or null for a fresh start. */
  checkpoint: CheckpointRecord | null;
  /** The next checkpoint id: above every checkpoint and WAL segment on disk, so none is reused. */
  nextCheckpoint: number;
  /** The directory's identity (see stateDirId). */
  id: string;
  /**
   * The worker count whose WALs hold what came after the checkpoint (after nothing, without one): recovery
   * replays them under that count, rescaling afterwards if another is asked for. Null: nothing was logged.
   */
  walWorkers: number | null;
}

/**
 * Make this process the state directory's only owner until the lock is released (see lock.ts): a second
 * engine on it, in this process or another, fails at once with ERR_KEYFLOW_STATE_DIR.
 */
export function lockStateDir(stateDir: string): Lock {
  try {
    mkdirDurable(stateDir);
    // Entries a run that stopped early made in it (its WAL and snapshot directories) are durable before
    // this run acknowledges anything.
    fsyncDir(stateDir);
  } catch (err) {
    throw new KeyflowError(codes.STATE_DIR, `state directory ${stateDir} is not writable: ${(err as Error).message}`);
  }
  // Taking the lock writes a file there: it also proves the directory writable (checkWritable then runs
  // under the lock, so two starts never share its probe).
  return acquireLock(lockPath(stateDir), `state directory ${stateDir}`);
}

/**
 * A random id made once per state directory. Outputs written exactly once record it, so an output left
 * by another (say, deleted) state directory is recognised instead of being mistaken for this one's.
 */
function stateDirId(stateDir: string): string {
  try {
    return readFileSync(idPath(stateDir), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw stateFileError('read', idPath(stateDir), err);
  }
  const id = randomUUID();
  try {
    writeFileAtomic(idPath(stateDir), Buffer.from(`${id}\n`));
  } catch (err) {
    throw stateFileError('write', idPath(stateDir), err);
  }
  return id;
}

/** Is the directory there and writable? Fail now, with a clear error, rather than at the first WAL write. */
function checkWritable(stateDir: string): void {
  try {
    fs.mkdirSync(stateDir, { recursive: true }); // made durable when the engine took it (lockStateDir)
    const probe = writeProbePath(stateDir);
    const fd = fs.openSync(probe, 'w');
    fs.writeSync(fd, Buffer.from('ok'));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.rmSync(probe);
  } catch (err) {
    throw new KeyflowError(codes.STATE_DIR, `state directory ${stateDir} is not writable: ${(err as Error).message}`);
  }
}

/** Check every snapshot of a checkpoint is intact (header and CRC, without decoding); throws naming the bad file. */
function verifyCheckpoint(stateDir: string, c: CheckpointRecord): void {
  for (let a = 0; a < c.workers; a++) verifySnapshot(snapshotPath(stateDir, c.id, a));
}

/**
 * Open a state directory: check it is writable, read the manifest, check it matches this engine, and
 * choose the checkpoint to recover from. With `repair`, a latest checkpoint whose snapshot is corrupt is
 * passed over for the one before it (whose WAL segments are kept for exactly this).
 */
export function openStateDir(stateDir: string, maxKeyGroups: number, pipelines: string[], repair: boolean, workers: number): Recovery {
  checkWritable(stateDir);
  const manifest = readManifest(stateDir);
  if (manifest) {
    if (manifest.maxKeyGroups !== maxKeyGroups) {
      throw configError(`state in ${stateDir} was written with maxKeyGroups ${manifest.maxKeyGroups}, not ${maxKeyGroups}: key-groups are fixed for the life of the state`);
    }
    if (manifest.pipelines.join('\n') !== pipelines.join('\n')) {
      throw configError(`state in ${stateDir} belongs to pipelines ${JSON.stringify(manifest.pipelines)}, not ${JSON.stringify(pipelines)}`);
    }
  }
  let checkpoint = manifest?.checkpoints.at(-1) ?? null;
  if (checkpoint) {
    try {
      verifyCheckpoint(stateDir, checkpoint);
    } catch (err) {
      const previous = manifest!.checkpoints.at(-2);
      // Falling back replays the WAL from the previous checkpoint on: only possible if one worker count
      // logged everything since (a rescale in between split it across two sets of WAL directories).
      if (!repair || !previous || walWorkersOf(previous) !== walWorkersOf(checkpoint)) throw err;
      verifyCheckpoint(stateDir, previous);
      checkpoint = previous;
    }
  }
  const taken = [...(manifest?.checkpoints.map((c) => c.id) ?? []), ...listSnapshotDirs(stateDir).map(([id]) => id), ...allSegmentIds(stateDir)];
  return { manifest, checkpoint, nextCheckpoint: Math.max(0, ...taken) + 1, id: stateDirId(stateDir), walWorkers: checkpoint ? walWorkersOf(checkpoint) : loggedWorkers(stateDir, workers) };
}

/**
 * Without a checkpoint, the worker count that logged input: the one whose WAL segments hold bytes (a run
 * that never completed a checkpoint acknowledged what it logged there). Should several (a state left by a
 * release that did not rescale such a run), the count asked for if it is one of them; otherwise which one
 * came last cannot be told, and recovery refuses rather than drop either.
 */
function loggedWorkers(stateDir: string, asked: number): number | null {
  const counts = new Set<number>();
  for (const actor of listWalDirs(stateDir)) {
    const count = walDirWorkers(actor.name);
    if (count !== null && listSegments(actor.path).some(([, path]) => (statSync(path, { throwIfNoEntry: false })?.size ?? 0) > 0)) counts.add(count);
  }
  if (counts.has(asked)) return asked;
  if (counts.size <= 1) return counts.values().next().value ?? null;
  throw new KeyflowError(codes.CORRUPT, `the WALs in ${walRoot(stateDir)} of several worker counts (${[...counts].join(', ')}) hold input and no checkpoint says which came last; `
    + `start with one of those counts`, { path: walRoot(stateDir) });
}

function allSegmentIds(stateDir: string): number[] {
  return listWalDirs(stateDir).flatMap((actor) => listSegments(actor.path).map(([id]) => id));
}
