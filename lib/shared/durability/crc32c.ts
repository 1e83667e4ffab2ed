import { createRequire } from 'node:module';

// crc-32 ships CRC32C as a CommonJS subpath without its own type declarations.
const CRC32C = createRequire(import.meta.url)('crc-32/crc32c') as { buf(data: Uint8Array, seed?: number): number };

/** CRC32C (Castagnoli) of `data`, unsigned. */
export function crc32c(data: Uint8Array): number {
  return CRC32C.buf(data) >>> 0;
}
