import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { KeyflowError, codes } from '../../shared/errors.js';
import { handledWhereAwaited } from '../../shared/ignore.js';
import { ndjsonLine } from '../../shared/codec/line-batch.js';

/**
 * Writes records as newline-delimited JSON to a file or stdout, honouring the stream's backpressure.
 * A record that cannot be written as JSON throws ERR_KEYFLOW_BAD_VALUE and nothing is written; a failed
 * write (no such directory, disk full…) makes `failed` reject and every later write throw
 * ERR_KEYFLOW_OUTPUT, instead of an uncaught stream error.
 */
export class NdjsonSink {
  private readonly out: Writable;
  private readonly ownsStream: boolean;
  private failure: KeyflowError | null = null;
  /** Rejects with the first write error. */
  readonly failed: Promise<never>;

  /** `append`: keep what the file holds (else it is truncated). */
  constructor(readonly target: string, { append = false } = {}) {
    this.ownsStream = target !== '-';
    this.out = target === '-' ? process.stdout : createWriteStream(target, { flags: append ? 'a' : 'w' });
    this.failed = new Promise<never>((_, reject) => {
      if (!this.ownsStream) return; // stdout's failures are the CLI's to handle (a closed pipe ends a run quietly)
      this.out.once('error', (err) => {
        this.failure = new KeyflowError(codes.OUTPUT, `cannot write ${target}: ${err.message}`, { path: target });
        reject(this.failure);
      });
    });
    this.failed.catch(handledWhereAwaited);
  }

  /**
   * Resolves at once unless the stream's buffer is full, then when it has drained. Stdout once it is gone
   * (its reader closed the pipe) takes nothing more: its 'error' listeners decide what that means.
   */
  write(record: unknown): Promise<void> | void {
    if (this.failure) throw this.failure;
    if (!this.ownsStream && this.out.destroyed) return;
    let line: string;
    try {
      line = ndjsonLine(record);
    } catch (err) {
      throw new KeyflowError(codes.BAD_VALUE, (err as Error).message, err);
    }
    if (!this.out.write(line)) return this.drained();
  }

  /** One wait for 'drain', shared by every write made while the buffer is full (not a listener per write). */
  private draining: Promise<void> | null = null;

  private drained(): Promise<void> {
    // stdout's failures are its 'error' listeners' to report (see cli/run-stop.ts): stop waiting, quietly.
    this.draining ??= Promise.race([once(this.out, 'drain').then(() => {}, (err: unknown) => { if (this.ownsStream) throw err; }), this.failed])
      .finally(() => (this.draining = null));
    return this.draining;
  }

  /** Like write(), for NDJSON lines made already (by the actors); after a failed write, nothing more is written. */
  writeLines(lines: Uint8Array | string): Promise<void> | void {
    if (this.failure || (!this.ownsStream && this.out.destroyed)) return;
    if (!this.out.write(lines)) return this.drained();
  }

  /** Resolves once every line is written; rejects with the failed write, if one failed (even before the call). */
  async close(): Promise<void> {
    if (!this.ownsStream) return;
    if (this.failure) throw this.failure;
    this.out.end();
    await Promise.race([once(this.out, 'finish'), this.failed]);
  }
}
