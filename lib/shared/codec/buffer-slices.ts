/**
 * Buffer's decoders without toString()'s argument checks: a frame of bids decodes a thousand strings or
 * more, a chunk of NDJSON thousands of lines. They are not in Node's documented API, but Node's own
 * toString() calls them and they have been on Buffer.prototype since its start (the value-column and
 * NDJSON tests would fail the day they go).
 */
export type DecodingBuffer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };
