import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * Every path and file name keyflow keeps on disk, in one place: the files and directories of a state
 * directory, the files beside an exactly-once output, and the temporary names used while writing them.
 * Modules that read, write, list or recognise them ask here, so the layout has one owner:
 *
 *   stateDir/  MANIFEST.json                            completed checkpoints (see manifest.ts)
 *              ID                                       the directory's identity
 *              LOCK                                     the owner's pid, while an engine runs on it
 *              snapshots/<checkpoint>/actor-N.snap      one actor's state at a barrier (see snapshot-file.ts)
 *              wal/w<workers>-actor-N/<checkpoint>.wal  what an actor received after that barrier (see wal.ts)
 *              lmdb/actor-N/                            the lmdb backend's environment of one actor
 *   <output>.commit, <output>.lock                      beside an exactly-once output (see exactly-once-file.ts)
 *
 * Checkpoint numbers in names are zero-padded to 8 digits, so names sort as numbers do.
 */

const MANIFEST = 'MANIFEST.json';
const SNAPSHOTS = 'snapshots';
const WAL = 'wal';
const LMDB = 'lmdb';

const SNAPSHOT_FILE = /^actor-(\d+)\.snap$/;
const SEGMENT_FILE = /^(\d{8})\.wal$/;
const CHECKPOINT_DIR = /^\d+$/;
const WAL_DIR = /^w(\d+)-actor-\d+$/;

const padded = (checkpoint: number) => String(checkpoint).padStart(8, '0');

/** An entry of a directory: its name, and its path. */
export interface DirEntry {
  name: string;
  path: string;
}

/** The entries of `dir`, sorted by name; none if it cannot be read (not made yet, or not a directory). */
export function listDir(dir: string): DirEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.sort().map((name) => ({ name, path: join(dir, name) }));
}

/** Does `stateDir` hold what only keyflow writes there (a manifest, snapshots or WAL)? */
export function isStateDir(stateDir: string): boolean {
  return listDir(stateDir).some(({ name }) => name === MANIFEST || name === SNAPSHOTS || name === WAL);
}

/** The list of completed checkpoints (see manifest.ts). */
export const manifestPath = (stateDir: string) => join(stateDir, MANIFEST);

/** The pid of the process that owns the directory while an engine runs on it (see lock.ts). */
export const lockPath = (stateDir: string) => join(stateDir, 'LOCK');

/** The directory's identity: a random id made once, recorded by the outputs it writes exactly once. */
export const idPath = (stateDir: string) => join(stateDir, 'ID');

/** Probed when the directory is opened, to fail early if it cannot be written. */
export const writeProbePath = (stateDir: string) => join(stateDir, '.keyflow-write-probe');

/** Snapshots, one directory per checkpoint. */
export const snapshotsRoot = (stateDir: string) => join(stateDir, SNAPSHOTS);

/** The directory of one checkpoint's snapshots, one file per actor of the run that took it. */
export const snapshotDir = (stateDir: string, checkpoint: number) => join(snapshotsRoot(stateDir), padded(checkpoint));

/** One actor's snapshot at one checkpoint. */
export const snapshotPath = (stateDir: string, checkpoint: number, actor: number) => join(snapshotDir(stateDir, checkpoint), `actor-${actor}.snap`);

/** Is this file name an actor's snapshot (and not, say, the temporary file of a write cut short)? */
export const isSnapshotName = (name: string) => SNAPSHOT_FILE.test(name);

/** Is this path an actor's snapshot? */
export const isSnapshotPath = (path: string) => isSnapshotName(basename(path));

/** The snapshot files of a checkpoint, ordered by actor; throws if its directory cannot be read. */
export function snapshotFiles(stateDir: string, checkpoint: number): string[] {
  const dir = snapshotDir(stateDir, checkpoint);
  const actorOf = (name: string) => Number(SNAPSHOT_FILE.exec(name)![1]);
  return readdirSync(dir).filter(isSnapshotName).sort((a, b) => actorOf(a) - actorOf(b)).map((name) => join(dir, name));
}

/** The checkpoint directories under snapshots/, as [checkpoint, path]. */
export function listSnapshotDirs(stateDir: string): Array<[number, string]> {
  return listDir(snapshotsRoot(stateDir)).filter(({ name }) => CHECKPOINT_DIR.test(name)).map(({ name, path }) => [Number(name), path]);
}

/** Write-ahead logs, one directory per actor of a worker count. */
export const walRoot = (stateDir: string) => join(stateDir, WAL);

/**
 * One WAL directory per actor of a layout (worker count): after rescaling, the new layout never appends
 * to a log that a repeated recovery under the old layout would read back.
 */
export const walDir = (stateDir: string, workers: number, actor: number) => join(walRoot(stateDir), `w${workers}-actor-${actor}`);

/** The worker count of a WAL directory's name (null for a name that is not one). */
export function walDirWorkers(name: string): number | null {
  const m = WAL_DIR.exec(name);
  return m ? Number(m[1]) : null;
}

/** Every actor's WAL directory, of every worker count there has been. */
export const listWalDirs = (stateDir: string) => listDir(walRoot(stateDir));

/** A WAL segment's file name: named by the checkpoint it follows (`00000007.wal` holds what came after barrier 7). */
export const segmentName = (checkpoint: number) => `${padded(checkpoint)}.wal`;

/** The segment of an actor's WAL directory that follows barrier `checkpoint`. */
export const segmentPath = (walDir: string, checkpoint: number) => join(walDir, segmentName(checkpoint));

/** The segments of one actor's WAL, oldest first, as [checkpoint, path]. */
export function listSegments(walDir: string): Array<[number, string]> {
  // listDir sorts by name, and segment names are zero-padded: name order is checkpoint order.
  return listDir(walDir).flatMap(({ name, path }): Array<[number, string]> => {
    const m = SEGMENT_FILE.exec(name);
    return m ? [[Number(m[1]), path]] : [];
  });
}

/** LMDB environments of the lmdb state backend, one per actor. */
export const lmdbRoot = (stateDir: string) => join(stateDir, LMDB);

/** Without a state directory, the lmdb backend's environments go in a temporary directory named so. */
export const lmdbTempPrefix = () => join(tmpdir(), 'keyflow-lmdb-');

/** The LMDB environment of one actor, under `root` (lmdbRoot, or a temporary directory). */
export const lmdbDir = (root: string, actor: number) => join(root, `actor-${actor}`);

/** An exactly-once output's commit record: its committed length and result numbers (see exactly-once-file.ts). */
export const commitPath = (output: string) => `${output}.commit`;

/** The pid of the process writing an exactly-once output. */
export const outputLockPath = (output: string) => `${output}.lock`;

/** Where a file replaced atomically is written first (see files.ts): a crash may leave it behind, never read. */
export const tempPath = (path: string) => `${path}.tmp`;

/** A lock's content, written aside by the process `pid` before it is linked into place (see lock.ts). */
export const lockClaimPath = (lock: string, pid: number) => `${lock}.${pid}.tmp`;

/** Where the process `pid` moves a dead owner's lock before removing it (see lock.ts). */
export const staleLockPath = (lock: string, pid: number) => `${lock}.${pid}.stale`;
