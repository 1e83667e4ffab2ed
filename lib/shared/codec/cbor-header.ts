/** CBOR's item headers (RFC 8949 §3), written as cbor-x writes them: the shortest for the count. */

/** Major types, as the first byte's top three bits. */
export const UINT = 0x00;
export const NEGINT = 0x20;
export const BYTES = 0x40;
export const TEXT = 0x60;
export const ARRAY = 0x80;
export const MAP = 0xa0;

/** Bytes of the shortest header for a count. */
export function sizeHeader(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** The shortest header of major type `major` for count `n` (below 2³²) at `at`; where the next byte goes. */
export function writeHeader(out: Buffer, at: number, major: number, n: number): number {
  if (n < 24) {
    out[at] = major + n;
    return at + 1;
  }
  if (n < 0x100) {
    out[at] = major + 24;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = major + 25;
    out.writeUInt16BE(n, at + 1);
    return at + 3;
  }
  out[at] = major + 26;
  out.writeUInt32BE(n, at + 1);
  return at + 5;
}
