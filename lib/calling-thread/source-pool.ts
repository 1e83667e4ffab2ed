/**
 * The pool of threads that parse and route a parallel source's chunks (piscina): started on first use (or
 * with the actors: StartOptions.prestartSourceThreads), with every pipeline module loaded in each thread
 * as the actors load them, and destroyed with the engine.
 */
import { Piscina } from 'piscina';
import type { ChunkResult, ChunkTask, PoolSetup } from '../shared/chunk-protocol.js';
import { KeyflowError, codes } from '../shared/errors.js';

const TASK_URL = new URL('../pool-thread/route-chunk.js', import.meta.url);

export class SourcePool {
  private pool: Piscina | null = null;
  private closed = false;

  constructor(private readonly setup: PoolSetup, readonly threads: number) {}

  /** Start the threads now (they load their modules meanwhile) rather than on the first chunk. */
  start(): void {
    if (!this.closed) this.started();
  }

  /** Parse (or generate) and route one chunk; its bytes are transferred to the pool thread. */
  run(task: ChunkTask): Promise<ChunkResult> {
    if (this.closed) return Promise.reject(new KeyflowError(codes.STOPPED, 'the engine has stopped: its source threads take no more chunks'));
    const transferList = 'ndjson' in task.input ? [task.input.ndjson.buffer as ArrayBuffer] : [];
    return this.started().run(task, { transferList }) as Promise<ChunkResult>;
  }

  private started(): Piscina {
    return this.pool ??= new Piscina({ filename: TASK_URL.href, minThreads: this.threads, maxThreads: this.threads, workerData: this.setup, idleTimeout: Infinity });
  }

  /** End the threads (even one stuck in user code); the pool takes no more chunks. */
  async destroy(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }
}
