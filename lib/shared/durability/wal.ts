import { readFileSync, statSync } from 'node:fs';
import { KeyflowError, codes } from '../errors.js';
import { crc32c } from './crc32c.js';
import { durableFs as fs } from './durable-fs.js';
import { fsyncDir, mkdirDurable, stateFileError } from './files.js';
import { listDir, listSegments, listWalDirs, segmentPath } from './state-layout.js';

/**
 * An actor's write-ahead log: the frames it received, appended before they are applied, each framed as
 *   u32 length | u32 crc32c(payload) | payload
 * in segment files named by the checkpoint they follow (see state-layout.ts).
 */
const HEADER = 8;

/** Bytes of WAL on disk, every actor's segments together (a segment deleted meanwhile counts 0). */
export function walBytes(stateDir: string): number {
  let bytes = 0;
  for (const actor of listWalDirs(stateDir)) {
    for (const file of listDir(actor.path)) bytes += statSync(file.path, { throwIfNoEntry: false })?.size ?? 0;
  }
  return bytes;
}

/** Delete an actor's segments wholly before `checkpoint` (their content is in that checkpoint's snapshots). */
export function truncateBefore(dir: string, checkpoint: number): void {
  for (const [id, path] of listSegments(dir)) if (id < checkpoint) fs.rmSync(path, { force: true });
}

/** Failures to write name the segment and carry ERR_KEYFLOW_STATE_DIR (see stateFileError). */
export class WalWriter {
  private fd: number;
  private path: string;
  private readonly header = Buffer.alloc(HEADER);
  /** Bytes appended since the last sync. */
  unsynced = 0;
  bytes = 0;

  constructor(private readonly dir: string, checkpoint: number) {
    this.path = segmentPath(dir, checkpoint);
    try {
      mkdirDurable(dir);
      this.fd = fs.openSync(this.path, 'a');
      fsyncDir(dir);
    } catch (err) {
      throw stateFileError('write', this.path, err);
    }
  }

  append(frame: Uint8Array): void {
    this.header.writeUInt32LE(frame.length, 0);
    this.header.writeUInt32LE(crc32c(frame), 4);
    try {
      fs.writevSync(this.fd, [this.header, frame]);
    } catch (err) {
      throw stateFileError('write', this.path, err);
    }
    this.unsynced += HEADER + frame.length;
    this.bytes += HEADER + frame.length;
  }

  sync(): void {
    if (this.unsynced === 0) return;
    try {
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      throw stateFileError('write', this.path, err);
    }
    this.unsynced = 0;
  }

  /** Start the segment that follows barrier `checkpoint` (everything before it is synced first). */
  rotate(checkpoint: number): void {
    this.sync();
    fs.closeSync(this.fd);
    this.path = segmentPath(this.dir, checkpoint);
    try {
      this.fd = fs.openSync(this.path, 'a');
      fsyncDir(this.dir);
    } catch (err) {
      throw stateFileError('write', this.path, err);
    }
  }

  close(): void {
    this.sync();
    fs.closeSync(this.fd);
  }
}

/**
 * Make a segment about to be replayed durable as it will be read: cut a torn tail off (`intactBytes`, so
 * new records follow intact ones) and fdatasync it. A run killed before its group commit leaves records in
 * the page cache that the next run reads and replays; until they are synced a power cut could still take
 * them, and with them the input of the results the replay releases. The cut must be durable too: a later
 * segment must never follow a tail that a power cut could bring back.
 */
export function syncForReplay(path: string, intactBytes: number | null): void {
  try {
    if (intactBytes !== null) fs.truncateSync(path, intactBytes);
    const fd = fs.openSync(path, 'r+');
    try {
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw stateFileError('write', path, err);
  }
}

export interface WalReadResult {
  frames: Uint8Array[];
  /** Bytes of a torn last record that were cut off (0 when the tail was clean). */
  tornBytes: number;
}

/**
 * Read one segment. A record cut short at the end of the last segment (a torn write) is dropped and
 * reported in `tornBytes`; a record that fails its CRC anywhere else is corruption and throws with the
 * file and offset, because applying it, or silently skipping it, would make state wrong.
 */
export function readSegment(path: string, isLast: boolean): WalReadResult {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw stateFileError('read', path, err);
  }
  return parseSegment(data, path, isLast);
}

/** readSegment on a segment's bytes (`path` names it in errors). */
export function parseSegment(data: Buffer, path: string, isLast: boolean): WalReadResult {
  const frames: Uint8Array[] = [];
  let at = 0;
  while (at < data.length) {
    const remaining = data.length - at;
    const length = remaining >= HEADER ? data.readUInt32LE(at) : -1;
    const complete = length > 0 && HEADER + length <= remaining;
    const intact = complete && data.readUInt32LE(at + 4) === crc32c(data.subarray(at + HEADER, at + HEADER + length));
    if (intact) {
      frames.push(data.subarray(at + HEADER, at + HEADER + length));
      at += HEADER + length;
      continue;
    }
    // Only the very last record of the log may be damaged, and only by being cut short or left half-written.
    const lastRecord = !complete || at + HEADER + length === data.length;
    if (isLast && lastRecord) return { frames, tornBytes: remaining };
    throw new KeyflowError(codes.CORRUPT, `corrupt WAL record in ${path} at offset ${at}: ${complete ? 'CRC mismatch' : 'length runs past the end of the segment'}; refusing to start on state that would be wrong`, { path, offset: at });
  }
  return { frames, tornBytes: 0 };
}
