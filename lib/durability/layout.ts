import { join } from 'node:path';

/**
 * Every path keyflow keeps on disk, in one place: the files and directories of a state directory, and
 * the files beside an exactly-once output. Modules that read or write them ask here, so the layout has
 * one owner.
 */

/** The list of completed checkpoints (see manifest.ts). */
export const manifestPath = (stateDir: string) => join(stateDir, 'MANIFEST.json');

/** The pid of the process that owns the directory while an engine runs on it (see lock.ts). */
export const lockPath = (stateDir: string) => join(stateDir, 'LOCK');

/** The directory's identity: a random id made once, recorded by the outputs it writes exactly once. */
export const idPath = (stateDir: string) => join(stateDir, 'ID');

/** Probed when the directory is opened, to fail early if it cannot be written. */
export const writeProbePath = (stateDir: string) => join(stateDir, '.keyflow-write-probe');

/** Snapshots, one directory per checkpoint. */
export const snapshotsRoot = (stateDir: string) => join(stateDir, 'snapshots');

/** Write-ahead logs, one directory per actor of a worker count. */
export const walRoot = (stateDir: string) => join(stateDir, 'wal');

/** LMDB environments of the lmdb state backend, one per actor. */
export const lmdbRoot = (stateDir: string) => join(stateDir, 'lmdb');

/** An exactly-once output's commit record: its committed length and result numbers (see exactly-once-file.ts). */
export const commitPath = (output: string) => `${output}.commit`;

/** The pid of the process writing an exactly-once output. */
export const outputLockPath = (output: string) => `${output}.lock`;
