import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { KeyflowError, codes } from '../errors.js';
import { crc32c } from './crc32c.js';
import { fsyncDir, stateFileError } from './files.js';
import { walRoot } from './layout.js';

/**
 * An actor's write-ahead log: the frames it received, appended before they are applied, each framed as
 *   u32 length | u32 crc32c(payload) | payload
 * in segment files named by the checkpoint they follow (`00000007.wal` holds what came after barrier 7).
 */
const HEADER = 8;

export const segmentName = (checkpoint: number) => `${String(checkpoint).padStart(8, '0')}.wal`;

/**
 * One WAL directory per actor of a layout (worker count): after rescaling, the new layout never appends
 * to a log that a repeated recovery under the old layout would read back.
 */
export function walDir(stateDir: string, workers: number, actor: number): string {
  return join(walRoot(stateDir), `w${workers}-actor-${actor}`);
}

/** Bytes of WAL on disk, every actor's segments together (a segment deleted meanwhile counts 0). */
export function walBytes(stateDir: string): number {
  let bytes = 0;
  const root = walRoot(stateDir);
  const list = (dir: string) => { try { return readdirSync(dir); } catch { return []; } };
  for (const actor of list(root)) {
    for (const file of list(join(root, actor))) bytes += statSync(join(root, actor, file), { throwIfNoEntry: false })?.size ?? 0;
  }
  return bytes;
}

/** Delete an actor's segments wholly before `checkpoint` (their content is in that checkpoint's snapshots). */
export function truncateBefore(dir: string, checkpoint: number): void {
  for (const [id, path] of listSegments(dir)) if (id < checkpoint) rmSync(path, { force: true });
}

/** The segments of one actor's WAL, oldest first, as [checkpoint, path]. */
export function listSegments(dir: string): Array<[number, string]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^\d{8}\.wal$/.test(n))
    .map((n): [number, string] => [Number(n.slice(0, 8)), join(dir, n)])
    .sort((a, b) => a[0] - b[0]);
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
    this.path = join(dir, segmentName(checkpoint));
    try {
      mkdirSync(dir, { recursive: true });
      this.fd = openSync(this.path, 'a');
      fsyncDir(dir);
    } catch (err) {
      throw stateFileError('write', this.path, err);
    }
  }

  append(frame: Uint8Array): void {
    this.header.writeUInt32LE(frame.length, 0);
    this.header.writeUInt32LE(crc32c(frame), 4);
    try {
      writevSync(this.fd, [this.header, frame]);
    } catch (err) {
      throw stateFileError('write', this.path, err);
    }
    this.unsynced += HEADER + frame.length;
    this.bytes += HEADER + frame.length;
  }

  sync(): void {
    if (this.unsynced === 0) return;
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      throw stateFileError('write', this.path, err);
    }
    this.unsynced = 0;
  }

  /** Start the segment that follows barrier `checkpoint` (everything before it is synced first). */
  rotate(checkpoint: number): void {
    this.sync();
    closeSync(this.fd);
    this.path = join(this.dir, segmentName(checkpoint));
    try {
      this.fd = openSync(this.path, 'a');
      fsyncDir(this.dir);
    } catch (err) {
      throw stateFileError('write', this.path, err);
    }
  }

  close(): void {
    this.sync();
    closeSync(this.fd);
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
