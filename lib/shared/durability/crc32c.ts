import { createRequire } from 'node:module';

type Crc32c = { buf(data: Uint8Array, seed?: number): number };

/**
 * crc-32 ships CRC32C as a CommonJS subpath without its own type declarations. It builds its tables as it
 * loads (about 4 ms), so it is loaded on first use: an engine without durability never needs it.
 */
let loaded: Crc32c | null = null;
const load = () => (loaded = createRequire(import.meta.url)('crc-32/crc32c') as Crc32c);

/** CRC32C (Castagnoli) of `data`, unsigned. */
export function crc32c(data: Uint8Array): number {
  // Always handed a plain Uint8Array. Given frames (views of the rings) and Buffers (snapshots, manifests)
  // in turn, V8 threw its optimized code away at each switch, and a snapshot's single long call (34 MB for
  // q9's final checkpoint) then ran unoptimized: 360 ms, where 30 ms is its speed.
  return (loaded ?? load()).buf(data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
}
