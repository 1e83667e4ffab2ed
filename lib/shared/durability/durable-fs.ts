import * as fs from 'node:fs';
import { promisify } from 'node:util';

/**
 * The file-system calls that change durable state: every write, fsync, rename, unlink, mkdir and
 * truncate of the WAL, snapshots, manifest, state directory (its id and lock) and exactly-once outputs
 * goes through this one object, never to node:fs directly. In production its methods are node:fs's own
 * (a property load is the whole cost); a test replaces them to record the calls in order and rebuild the
 * states a power cut could leave on disk (test/helpers/power-loss/). Reads do not change anything and
 * call node:fs directly.
 */
export const durableFs = {
  openSync: fs.openSync,
  writeSync: fs.writeSync as (fd: number, data: Uint8Array, offset?: number, length?: number, position?: number | null) => number,
  writevSync: fs.writevSync,
  fsyncSync: fs.fsyncSync,
  fdatasyncSync: fs.fdatasyncSync,
  closeSync: fs.closeSync,
  ftruncateSync: fs.ftruncateSync,
  truncateSync: fs.truncateSync,
  renameSync: fs.renameSync,
  rmSync: fs.rmSync,
  mkdirSync: fs.mkdirSync as (path: string, options: { recursive: true }) => string | undefined,
  linkSync: fs.linkSync,
  writeFileSync: fs.writeFileSync as (path: string, data: string | Uint8Array) => void,
  /** Off the calling thread (libuv's pool), for snapshot files. */
  open: promisify(fs.open) as (path: string, flags: string) => Promise<number>,
  write: promisify(fs.write) as (fd: number, data: Uint8Array, offset: number, length: number, position: number | null) => Promise<{ bytesWritten: number }>,
  fsync: promisify(fs.fsync),
  close: promisify(fs.close),
  rename: promisify(fs.rename),
};
