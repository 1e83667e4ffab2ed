import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stateDecoder, stateEncoder } from '../codec/cbor.js';
import type { SourceInfo } from '../codec/records.js';
import type { WaitingRecord } from '../../actor-thread/shuffle.js';
import { KeyflowError, codes } from '../errors.js';
import { crc32c } from './crc32c.js';
import { mkdirDurable, stateFileError, writeFileAtomicAsync } from './files.js';

/**
 * One actor's snapshot at one checkpoint: per key-group state, written atomically.
 *   u32 magic 'KFSN' | u32 crc32c(body) | body (cbor)
 */
const MAGIC = 0x4e53464b;
const encoder = stateEncoder();
/** Byte arrays in restored state are its own, not views that keep the whole file alive. */
const decoder = stateDecoder();

export interface ActorSnapshot {
  checkpoint: number;
  /** The pipelines' watermarks at the barrier (the same in every actor). */
  watermarks: number[];
  /** Arrival counter, so restored first()/last() compare correctly with new events. */
  seq: number;
  /** Source ids in use when it was taken: the WAL segments that follow refer to them. */
  sources: Array<[number, SourceInfo]>;
  /** Per pipeline, the actor's operator state (not keyed), or null. */
  operatorState?: unknown[];
  /** Later stages' input waiting for their watermark at the barrier (see shuffle.ts), of every key-group. */
  waiting?: WaitingRecord[];
  /** key-group → its GroupSnapshot, cbor-encoded on its own (groups are captured one at a time). */
  groups: Record<number, Uint8Array>;
}

export interface GroupSnapshot {
  /** Per pipeline, results and late events emitted so far by this key-group: the next is numbered one more. */
  outputs: number[];
  /**
   * Exactly-once sources: name → highest position applied in this key-group, per pipeline (its index
   * third; snapshots from before pipelines had their own positions leave it out, and meant every pipeline).
   */
  sources: Array<[name: string, pos: number, pipe?: number]>;
  /** One entry per pipeline: that operator's state for this key-group. */
  operators: unknown[];
}

export function encodeGroup(group: GroupSnapshot): Uint8Array {
  return encoder.encode(group);
}

export function decodeGroup(bytes: Uint8Array): GroupSnapshot {
  return decoder.decode(bytes) as GroupSnapshot;
}

/** The snapshot file's bytes: header, CRC, body. */
export function encodeSnapshot(snapshot: ActorSnapshot): Buffer {
  const body = encoder.encode(snapshot);
  const out = Buffer.allocUnsafe(8 + body.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(crc32c(body), 4);
  out.set(body, 8);
  return out;
}

/** Write a snapshot atomically, off the calling thread's critical path. */
export async function writeSnapshot(path: string, bytes: Uint8Array): Promise<void> {
  try {
    mkdirDurable(dirname(path));
    await writeFileAtomicAsync(path, bytes);
  } catch (err) {
    throw stateFileError('write', path, err);
  }
}

/** A snapshot file's body, after checking its header and CRC; throws naming the file and offset. */
export function verifySnapshot(path: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new KeyflowError(codes.CORRUPT, `snapshot ${path} is missing: ${(err as Error).message}`, { path });
  }
  if (data.length < 8 || data.readUInt32LE(0) !== MAGIC) throw new KeyflowError(codes.CORRUPT, `snapshot ${path} is not a keyflow snapshot (bad header at offset 0)`, { path, offset: 0 });
  const body = data.subarray(8);
  if (data.readUInt32LE(4) !== crc32c(body)) throw new KeyflowError(codes.CORRUPT, `snapshot ${path} is corrupt: CRC mismatch over bytes 8..${data.length}`, { path, offset: 8 });
  return body;
}

export function readSnapshot(path: string): ActorSnapshot {
  return decoder.decode(verifySnapshot(path)) as ActorSnapshot;
}
