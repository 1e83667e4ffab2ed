/**
 * An NDJSON file as a parallel source's input: `engine.ingestNdjson(ndjsonFile(path))`, as `keyflow run
 * --input` reads. With source threads, the calling thread only cuts the file into byte ranges and the
 * source threads read their own (see calling-thread/sources/file-ranges.ts); with none, it is read as a stream.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';

const NDJSON_FILE = Symbol('keyflow.ndjsonFile');

export interface NdjsonFile extends AsyncIterable<Buffer> {
  readonly [NDJSON_FILE]: string;
}

/**
 * The NDJSON file at `path` (resolved now: the source threads open it by path, range by range), for
 * engine.ingestNdjson(). A path that is not a regular file (a pipe, /dev/stdin) is read as a stream.
 */
export function ndjsonFile(path: string): NdjsonFile {
  const absolute = resolve(path);
  return {
    [NDJSON_FILE]: absolute,
    [Symbol.asyncIterator]: () => createReadStream(absolute)[Symbol.asyncIterator]() as AsyncIterator<Buffer>,
  };
}

/** The path of an input made by ndjsonFile(), or undefined. */
export function ndjsonFilePath(input: AsyncIterable<Uint8Array | string>): string | undefined {
  return (input as Partial<NdjsonFile>)[NDJSON_FILE];
}
