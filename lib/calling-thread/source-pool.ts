/**
 * The pool of threads that parse and route a parallel source's chunks (piscina): started on first use (or
 * with the actors: StartOptions.prestartSourceThreads, then before the engine has loaded, see
 * prestarted-threads.ts), with every pipeline module loaded in each thread as the actors load them once
 * the engine has posted its setup, and destroyed with the engine.
 */
import { Piscina } from 'piscina';
import type { ChunkResult, ChunkTask, PoolSetup, PoolThreadData } from '../shared/chunk-protocol.js';
import { KeyflowError, codes, describeThrown, type ErrorCode } from '../shared/errors.js';
import { handledWhereAwaited } from '../shared/ignore.js';
import { createMailbox, post } from '../shared/mailbox.js';
import { threadOptionsError } from './options.js';

/** The source threads' task module (see pool-thread/task.cts). */
const TASK_URL = new URL('../pool-thread/task.cjs', import.meta.url);

export class SourcePool {
  private pool: Piscina | null = null;
  private closed = false;
  /** Why the threads cannot take chunks: one failed outside any chunk (as it started, importing a module). */
  private failure: KeyflowError | null = null;
  private readonly failed: Promise<never>;
  private reject!: (err: KeyflowError) => void;
  /** Where the threads find their PoolSetup (see ../shared/mailbox.ts). */
  private readonly setup = createMailbox();

  /** `execArgv`: the threads' Node options (undefined: the process's). */
  constructor(readonly threads: number, readonly execArgv?: string[]) {
    this.failed = new Promise<never>((_, reject) => (this.reject = reject));
    this.failed.catch(handledWhereAwaited); // raced by run(), if anything runs
  }

  /** What the threads route for: once, before the first chunk (threads already started wait for it). */
  configure(setup: PoolSetup): void {
    post(this.setup, setup);
  }

  /**
   * Start the threads now (they load their modules meanwhile) rather than on the first chunk. If they cannot
   * start (options a thread refuses), that is kept as the start failure: the actors, started next with the
   * same options, report it first.
   */
  start(): void {
    if (this.closed) return;
    try {
      this.started();
    } catch (err) {
      this.failure ??= err instanceof KeyflowError ? err : new KeyflowError(codes.WORKER, `the source threads failed to start: ${describeThrown(err)}`, err);
      this.reject(this.failure);
    }
  }

  /** The failure of a thread outside any chunk so far (start() checks it once the actors are up), or null. */
  get startFailure(): KeyflowError | null {
    return this.failure;
  }

  /** Parse (or generate) and route one chunk; its bytes are transferred to the pool thread. */
  run(task: ChunkTask): Promise<ChunkResult> {
    if (this.closed) return Promise.reject(new KeyflowError(codes.STOPPED, 'the engine has stopped: its source threads take no more chunks'));
    if (this.failure) return Promise.reject(this.failure);
    const transferList = 'ndjson' in task.input ? [task.input.ndjson.buffer as ArrayBuffer] : [];
    // Threads that failed to start take no task and fail none: a failure ends the chunks waiting for them.
    return Promise.race([this.started().run(task, { transferList }) as Promise<ChunkResult>, this.failed]);
  }

  private started(): Piscina {
    if (this.pool) return this.pool;
    try {
      this.pool = new Piscina({ filename: TASK_URL.href, minThreads: this.threads, maxThreads: this.threads, workerData: { setup: this.setup } satisfies PoolThreadData, idleTimeout: Infinity,
        ...(this.execArgv ? { execArgv: this.execArgv } : {}) });
    } catch (err) {
      throw threadOptionsError(err);
    }
    // Piscina reports a thread that fails with no task to fail (one that cannot import a pipeline module) as
    // an 'error' event: unheard, it would end the process.
    this.pool.on('error', (err: unknown) => {
      this.failure ??= new KeyflowError(codedAs(err) ?? codes.WORKER, `a source thread failed: ${err instanceof Error ? err.message : describeThrown(err)}`, err);
      this.reject(this.failure);
    });
    return this.pool;
  }

  /** End the threads (even one stuck in user code); the pool takes no more chunks. */
  async destroy(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }
}

/** A keyflow error's code, kept across the thread boundary (an import that failed in a source thread, say). */
function codedAs(err: unknown): ErrorCode | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return Object.values(codes).find((c) => c === code);
}
