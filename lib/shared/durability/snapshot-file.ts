import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stateDecoder } from '../codec/cbor.js';
import type { SourceInfo } from '../codec/records.js';
import type { WaitingRecord } from '../../actor-thread/shuffle.js';
import { KeyflowError, codes } from '../errors.js';
import { BYTES, MAP, TEXT, sizeHeader, writeHeader } from '../codec/cbor-header.js';
import { StateWriter } from '../codec/state-writer.js';
import { crc32c } from './crc32c.js';
import { mkdirDurable, stateFileError, writeFileAtomicAsync } from './files.js';

/**
 * One actor's snapshot at one checkpoint: per key-group state, written atomically.
 *   u32 magic 'KFSN' | u32 crc32c(body) | body (cbor)
 */
const MAGIC = 0x4e53464b;
/** cbor-x's bytes (its state encoder's), written without its encoder: see state-writer.ts. */
const writer = new StateWriter();
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

/** A key-group's snapshot, encoded on its own. */
export function encodeGroup(group: GroupSnapshot): Uint8Array {
  return writer.encode(group);
}

export function decodeGroup(bytes: Uint8Array): GroupSnapshot {
  return decoder.decode(bytes) as GroupSnapshot;
}

/**
 * The snapshot file's bytes: header, CRC, body. The body is what cbor-x's `stateEncoder().encode(snapshot)`
 * writes (with `groups` last, as actors build it), put together here: cbor-x would copy every key-group's
 * bytes into a buffer it grows by copying (by a quarter at a time past 64 MB), and the file took one more
 * copy of it all. With a large state that was most of a checkpoint: q9 over 5 M events, 8.8 s of its
 * actor's 13 s finishing snapshots.
 */
export function encodeSnapshot(snapshot: ActorSnapshot): Buffer {
  const { groups, ...header } = snapshot;
  const head = writer.encode(header);
  const fields = head[0] - MAP;
  // A map of fewer than 23 fields: its first byte counts them (a bigger one cannot be an ActorSnapshot).
  if (fields < 0 || fields >= 23) throw new Error(`a snapshot's header encoded as ${head[0]}`);
  // In Object.keys order (key-groups ascending), as cbor-x walks the object.
  const entries = Object.entries(groups);
  let size = head.length + GROUPS.length + sizeHeader(entries.length);
  for (const [kg, bytes] of entries) size += 1 + kg.length + TYPED_BYTES.length + sizeHeader(bytes.length) + bytes.length;
  const out = Buffer.allocUnsafe(8 + size);
  let at = 8;
  out[at++] = MAP + fields + 1;
  out.set(head.subarray(1), at);
  at += head.length - 1;
  out.set(GROUPS, at);
  at += GROUPS.length;
  at = writeHeader(out, at, MAP, entries.length);
  for (const [kg, bytes] of entries) {
    // The key as cbor-x writes an object's key: a text string (a key-group number has fewer than 24 digits).
    out[at++] = TEXT + kg.length;
    at += out.write(kg, at, 'latin1');
    // The value as cbor-x writes a Uint8Array: its typed-array tag, then a byte string.
    out.set(TYPED_BYTES, at);
    at += TYPED_BYTES.length;
    at = writeHeader(out, at, BYTES, bytes.length);
    out.set(bytes, at);
    at += bytes.length;
  }
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(crc32c(out.subarray(8)), 4);
  return out;
}

/** The key `groups`, as cbor-x writes it. */
const GROUPS = Buffer.from([TEXT + 6, ...Buffer.from('groups')]);
/** Tag 64 (RFC 8746: a Uint8Array). */
const TYPED_BYTES = Buffer.from([0xd8, 0x40]);

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
