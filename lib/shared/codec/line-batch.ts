/**
 * A batch of NDJSON lines an actor made of consecutive results (or late events) of one pipeline, with
 * each line's key-group and number, so that the calling thread writes the bytes as they are and an
 * exactly-once sink can still skip the lines it has (see sinks/exactly-once-file.ts). It travels as the
 * value of a RESULT_LINES or LATE_LINES record (see records.ts):
 *
 *   u32 count | u16 kg[count] | pad to 8 | f64 n[count] | UTF-8 text: count lines, each ending in '\n'
 *
 * JSON.stringify never writes a raw newline, so a line ends at the first '\n' after its start.
 */
const COUNT = 4;

function textStart(count: number): number {
  return ((COUNT + count * 2 + 7) & ~7) + count * 8;
}

/** Collects lines on the actor thread; take() encodes them and starts a new batch. */
export class LineBatchWriter {
  private readonly lines: string[] = [];
  private readonly kgs: number[] = [];
  private readonly numbers: number[] = [];
  /** UTF-16 length of the text so far: a bound on its UTF-8 size for ASCII text, an estimate otherwise. */
  textLength = 0;

  add(kg: number, n: number, line: string): void {
    this.lines.push(line);
    this.kgs.push(kg);
    this.numbers.push(n);
    this.textLength += line.length;
  }

  take(): Uint8Array {
    const count = this.lines.length;
    const text = this.lines.join('');
    const start = textStart(count);
    const bytes = Buffer.allocUnsafe(start + Buffer.byteLength(text));
    const view = new DataView(bytes.buffer, bytes.byteOffset, start);
    view.setUint32(0, count, true);
    for (let i = 0; i < count; i++) view.setUint16(COUNT + i * 2, this.kgs[i], true);
    const numbers = (COUNT + count * 2 + 7) & ~7;
    for (let i = 0; i < count; i++) view.setFloat64(numbers + i * 8, this.numbers[i], true);
    bytes.fill(0, COUNT + count * 2, numbers);
    bytes.write(text, start);
    this.lines.length = 0;
    this.kgs.length = 0;
    this.numbers.length = 0;
    this.textLength = 0;
    return bytes;
  }
}

/** Reads a batch on the calling thread, without copying it. */
export class LineBatchView {
  readonly count: number;
  private readonly view: DataView;
  private readonly numbers: number;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.count = this.view.getUint32(0, true);
    this.numbers = (COUNT + this.count * 2 + 7) & ~7;
  }

  keyGroup(i: number): number {
    return this.view.getUint16(COUNT + i * 2, true);
  }

  number(i: number): number {
    return this.view.getFloat64(this.numbers + i * 8, true);
  }

  /** Every line, as a view into the batch. */
  text(): Uint8Array {
    return this.bytes.subarray(textStart(this.count));
  }
}

/** One NDJSON line of a record, as every NDJSON output writes it (throws for what JSON cannot write: a BigInt, a cycle). */
export function ndjsonLine(record: unknown): string {
  return JSON.stringify(record) + '\n';
}

/** A record's NDJSON line, or the error JSON gave for it (a cycle, a BigInt…), for a sink that skips such a record and reports it. */
export function ndjsonLineOrError(record: unknown): string | Error {
  try {
    return ndjsonLine(record);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** How several pipelines share one NDJSON output: each record names its pipeline. */
export function wrapRecord(pipeline: string, late: boolean, record: unknown): unknown {
  return late ? { pipeline, event: record } : { pipeline, result: record };
}
