import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Writes records as newline-delimited JSON to a file or stdout, honouring the stream's backpressure. */
export class NdjsonSink {
  private readonly out: Writable;
  private readonly ownsStream: boolean;

  constructor(target: string) {
    this.ownsStream = target !== '-';
    this.out = target === '-' ? process.stdout : createWriteStream(target);
  }

  /** Resolves at once unless the stream's buffer is full, then when it has drained. */
  write(record: unknown): Promise<void> | void {
    if (!this.out.write(JSON.stringify(record) + '\n')) return once(this.out, 'drain').then(() => {});
  }

  async close(): Promise<void> {
    if (!this.ownsStream) return;
    const out = this.out as WriteStream;
    out.end();
    await once(out, 'finish');
  }
}
