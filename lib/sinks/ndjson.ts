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

  /**
   * Resolves at once unless the stream's buffer is full, then when it has drained. Stdout once it is gone
   * (its reader closed the pipe) takes nothing more: its 'error' listeners decide what that means.
   */
  write(record: unknown): Promise<void> | void {
    if (!this.ownsStream && this.out.destroyed) return;
    if (!this.out.write(JSON.stringify(record) + '\n')) {
      // stdout's failures are its 'error' listeners' to report (see cli/run-stop.ts): stop waiting, quietly.
      return once(this.out, 'drain').then(() => {}, (err: unknown) => { if (this.ownsStream) throw err; });
    }
  }

  async close(): Promise<void> {
    if (!this.ownsStream) return;
    const out = this.out as WriteStream;
    out.end();
    await once(out, 'finish');
  }
}
