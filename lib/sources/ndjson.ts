import { describeThrown } from '../errors.js';

export interface BadLine {
  line: number;
  raw: string;
  detail: string;
}

export interface NdjsonBatch {
  events: unknown[];
  /** 1-based line number of each event. */
  lines: number[];
  /** Lines that are not valid JSON, with why. */
  bad: BadLine[];
  /** Bytes of input consumed so far (for progress). */
  bytes: number;
}

/**
 * Newline-delimited JSON from a byte stream, in batches of up to `batchSize` lines, and at the end of
 * every chunk the stream delivers. Blank lines are skipped; a line that is not
 * JSON is returned in `bad` with its line number, and reading goes on.
 */
export async function* ndjsonBatches(input: AsyncIterable<Buffer | string>, batchSize = 4096): AsyncGenerator<NdjsonBatch> {
  let rest = '';
  let lineNo = 0;
  let bytes = 0;
  let batch: NdjsonBatch = { events: [], lines: [], bad: [], bytes: 0 };
  const take = (text: string) => {
    lineNo++;
    const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (trimmed.trim().length === 0) return;
    try {
      batch.events.push(JSON.parse(trimmed));
      batch.lines.push(lineNo);
    } catch (err) {
      batch.bad.push({ line: lineNo, raw: trimmed.length > 1000 ? trimmed.slice(0, 1000) + '…' : trimmed, detail: `not valid JSON: ${describeThrown(err)}` });
    }
  };
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    let start = 0;
    const data = rest + text;
    for (let nl = data.indexOf('\n'); nl >= 0; nl = data.indexOf('\n', start)) {
      take(data.slice(start, nl));
      start = nl + 1;
      if (batch.events.length + batch.bad.length >= batchSize) {
        batch.bytes = bytes;
        yield batch;
        batch = { events: [], lines: [], bad: [], bytes: 0 };
      }
    }
    rest = data.slice(start);
    // A live stream (stdin) may pause here for long: hand over what it has sent.
    if (batch.events.length + batch.bad.length > 0) {
      batch.bytes = bytes;
      yield batch;
      batch = { events: [], lines: [], bad: [], bytes: 0 };
    }
  }
  if (rest.length > 0) take(rest);
  batch.bytes = bytes;
  if (batch.events.length + batch.bad.length > 0) yield batch;
}
