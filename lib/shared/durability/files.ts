import { dirname, resolve } from 'node:path';
import { KeyflowError, codes } from '../errors.js';
import { durableFs as fs } from './durable-fs.js';
import { tempPath } from './state-layout.js';

const REMEDY: Record<string, string> = {
  ENOSPC: 'the disk is full: free space, or use a state directory on another disk',
  EDQUOT: 'the disk quota is used up: free space, or use a state directory on another disk',
  EACCES: 'make the state directory writable',
  EPERM: 'make the state directory writable',
  EROFS: 'the file system is read-only: use a state directory on a writable one',
  EISDIR: 'a directory is in the way: remove it',
};

/**
 * A file of durable state (WAL segment, snapshot, manifest) that could not be written or read, as
 * ERR_KEYFLOW_STATE_DIR naming the file and what to do. A KeyflowError passes through unchanged.
 */
export function stateFileError(doing: 'read' | 'write', path: string, err: unknown): KeyflowError {
  if (err instanceof KeyflowError) return err;
  const { code, message } = err as NodeJS.ErrnoException;
  const remedy = code !== undefined && REMEDY[code] ? `; ${REMEDY[code]}` : '';
  return new KeyflowError(codes.STATE_DIR, `cannot ${doing} ${path}: ${message ?? String(err)}${remedy}`, { path, errno: code });
}

/** fsync a directory, so a rename or a new file in it survives power loss. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Create `dir` and any missing parents so that they survive power loss: a new directory is an entry in
 * its parent, durable only once the parent is fsynced (fsyncing what is inside it does not), so the
 * parent of each directory created is fsynced, the outermost first, and `dir`'s own parent even when it
 * was there already (a run that stopped before it could fsync may have made it). Without it a power cut
 * could take a new WAL's directory, fsynced segments and all, or the directory of a checkpoint the
 * manifest names.
 */
export function mkdirDurable(dir: string): void {
  const path = resolve(dir);
  const first = fs.mkdirSync(path, { recursive: true });
  const created: string[] = [];
  if (first !== undefined) {
    for (let d = path; ; d = dirname(d)) {
      created.push(d);
      if (d === first || dirname(d) === d) break;
    }
  }
  for (const d of created.length > 0 ? created.reverse() : [path]) fsyncDir(dirname(d));
}

/**
 * Replace `path` with `data` atomically: write a temp file, fsync it, rename it over `path`, fsync the
 * directory. A crash leaves either the old file or the new one, never a mix.
 */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = tempPath(path);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (let at = 0; at < data.length;) at += fs.writeSync(fd, data, at, data.length - at);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** writeFileAtomic, with the write and fsync done off the calling thread (by libuv's pool). */
export async function writeFileAtomicAsync(path: string, data: Uint8Array): Promise<void> {
  const tmp = tempPath(path);
  const fd = await fs.open(tmp, 'w');
  try {
    for (let at = 0; at < data.length;) at += (await fs.write(fd, data, at, data.length - at, null)).bytesWritten;
    await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
  await fs.rename(tmp, path);
  fsyncDir(dirname(path));
}
