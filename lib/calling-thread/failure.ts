/**
 * How an engine fails: once, with the first error. Everything that waits on the actors races its wait
 * against `failed`, so nothing hangs on an actor that will never answer.
 */
import type { KeyflowError } from '../shared/errors.js';
import { handledWhereAwaited } from '../shared/ignore.js';

export class Failure {
  error: KeyflowError | null = null;
  /** Rejects with the first error. */
  readonly failed: Promise<never>;
  private reject!: (err: KeyflowError) => void;

  constructor(private readonly onFirst: (err: KeyflowError) => void) {
    this.failed = new Promise<never>((_, reject) => (this.reject = reject));
    // Nobody need be waiting when it fails.
    this.failed.catch(handledWhereAwaited);
  }

  fail(err: KeyflowError): void {
    if (this.error) return;
    this.error = err;
    this.reject(err);
    this.onFirst(err);
  }

  throwIfFailed(): void {
    if (this.error) throw this.error;
  }

  /** `p`, unless the engine fails first. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failed]);
  }
}
