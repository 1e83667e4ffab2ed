/**
 * Records every call that changes durable state (lib/shared/durability/durable-fs.ts) to a trace file, in
 * the order the calls completed, with the bytes each write put where. Loaded with `node --import` in a
 * child process whose environment names the trace (KEYFLOW_FS_TRACE): the engine's threads inherit the
 * option, so the actors' WAL and snapshot writes are recorded too. One line of JSON per call (see TraceOp);
 * lines are appended with O_APPEND from every thread, each in one write(), so they never interleave, and
 * a call is logged after it returned, so anything it caused (a message to another thread) comes later in
 * the trace.
 *
 * `mark()` adds a line of the caller's own (an acknowledged ingest(), a released result) at that moment.
 */
import * as fs from 'node:fs';
import { durableFs } from '../../../lib/shared/durability/durable-fs.js';

/** One recorded call; paths are absolute, bytes base64. */
export type TraceOp =
  | { op: 'mkdir' | 'create' | 'fsync' | 'unlink' | 'rmdir'; path: string }
  | { op: 'write'; path: string; at: number; data: string }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'rename' | 'link'; path: string; to: string }
  | { op: 'mark'; mark: Record<string, unknown> };

const tracePath = process.env.KEYFLOW_FS_TRACE;
const traceFd = tracePath ? fs.openSync(tracePath, 'a') : -1;

function log(entry: TraceOp): void {
  if (traceFd >= 0) fs.writeSync(traceFd, `${JSON.stringify(entry)}\n`);
}

/** Add the caller's own line to the trace (nothing when not recording). */
export function mark(mark: Record<string, unknown>): void {
  log({ op: 'mark', mark });
}

interface OpenFile { path: string; append: boolean; pos: number }
const files = new Map<number, OpenFile>();

function opened(path: string, flags: string, fd: number, existed: boolean): void {
  const truncates = flags.startsWith('w');
  if (!existed && flags !== 'r' && flags !== 'r+') log({ op: 'create', path });
  else if (existed && truncates) log({ op: 'truncate', path, size: 0 });
  files.set(fd, { path, append: flags.startsWith('a'), pos: 0 });
}

function wrote(fd: number, bytes: Uint8Array, position: number | null | undefined): void {
  const file = files.get(fd);
  if (!file || bytes.length === 0) return;
  const at = position ?? (file.append ? fs.fstatSync(fd).size - bytes.length : file.pos);
  if (position === null || position === undefined) file.pos = at + bytes.length;
  log({ op: 'write', path: file.path, at, data: Buffer.from(bytes).toString('base64') });
}

/** Everything under `path`, children before their directory (what rmSync removes, in an order it could). */
function tree(path: string): TraceOp[] {
  const stat = fs.lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return [];
  if (!stat.isDirectory()) return [{ op: 'unlink', path }];
  return [...fs.readdirSync(path).flatMap((name) => tree(`${path}/${name}`)), { op: 'rmdir', path }];
}

function install(): void {
  const real = { ...durableFs };
  const exists = (path: string) => fs.existsSync(path);
  durableFs.openSync = ((path: string, flags: string, mode?: number) => {
    const existed = exists(path);
    const fd = real.openSync(path, flags, mode);
    opened(path, flags, fd, existed);
    return fd;
  }) as typeof durableFs.openSync;
  durableFs.open = async (path, flags) => {
    const existed = exists(path);
    const fd = await real.open(path, flags);
    opened(path, flags, fd, existed);
    return fd;
  };
  durableFs.writeSync = (fd, data, offset = 0, length = data.length - offset, position = null) => {
    const n = real.writeSync(fd, data, offset, length, position);
    wrote(fd, data.subarray(offset, offset + n), position);
    return n;
  };
  durableFs.write = async (fd, data, offset, length, position) => {
    const result = await real.write(fd, data, offset, length, position);
    wrote(fd, data.subarray(offset, offset + result.bytesWritten), position);
    return result;
  };
  durableFs.writevSync = ((fd: number, buffers: NodeJS.ArrayBufferView[], position?: number | null) => {
    const n = real.writevSync(fd, buffers, position ?? undefined);
    const all = Buffer.concat(buffers.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
    wrote(fd, all.subarray(0, n), position);
    return n;
  }) as typeof durableFs.writevSync;
  const synced = (fd: number) => {
    const file = files.get(fd);
    if (file) log({ op: 'fsync', path: file.path });
  };
  durableFs.fsyncSync = (fd) => { real.fsyncSync(fd); synced(fd); };
  durableFs.fdatasyncSync = (fd) => { real.fdatasyncSync(fd); synced(fd); };
  durableFs.fsync = async (fd) => { await real.fsync(fd); synced(fd); };
  durableFs.closeSync = (fd) => { real.closeSync(fd); files.delete(fd); };
  durableFs.close = async (fd) => { await real.close(fd); files.delete(fd); };
  durableFs.ftruncateSync = (fd, size = 0) => {
    real.ftruncateSync(fd, size);
    const file = files.get(fd);
    if (file) log({ op: 'truncate', path: file.path, size });
  };
  durableFs.truncateSync = ((path: string, size = 0) => {
    real.truncateSync(path, size);
    log({ op: 'truncate', path, size });
  }) as typeof durableFs.truncateSync;
  durableFs.renameSync = (from, to) => {
    real.renameSync(from, to);
    log({ op: 'rename', path: String(from), to: String(to) });
  };
  durableFs.rename = async (from, to) => {
    await real.rename(from, to);
    log({ op: 'rename', path: String(from), to: String(to) });
  };
  durableFs.linkSync = (from, to) => {
    real.linkSync(from, to);
    log({ op: 'link', path: String(from), to: String(to) });
  };
  durableFs.rmSync = (path, options) => {
    const removed = tree(String(path));
    real.rmSync(path, options);
    for (const entry of removed) log(entry);
  };
  durableFs.mkdirSync = (path, options) => {
    const first = real.mkdirSync(path, options);
    if (first !== undefined) {
      const made: string[] = [];
      for (let d = path; ; d = d.slice(0, d.lastIndexOf('/'))) {
        made.unshift(d);
        if (d === first) break;
      }
      for (const dir of made) log({ op: 'mkdir', path: dir });
    }
    return first;
  };
  durableFs.writeFileSync = (path, data) => {
    const existed = exists(path);
    real.writeFileSync(path, data);
    log(existed ? { op: 'truncate', path, size: 0 } : { op: 'create', path });
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes.length > 0) log({ op: 'write', path, at: 0, data: Buffer.from(bytes).toString('base64') });
  };
}

if (tracePath) install();
