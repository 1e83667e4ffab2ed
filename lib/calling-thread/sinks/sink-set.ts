/**
 * Where an engine writes its outputs as NDJSON: per pipeline, at most one exactly-once sink for its
 * results and one for its late events (a file, see exactly-once-file.ts, or a JetStream subject, see
 * jetstream-sink.ts), which checkpoints commit and the engine's end closes; and NDJSON streams (a file
 * or stdout, see ndjson.ts) that `keyflow run` writes without state, several pipelines perhaps into one,
 * which their opener closes.
 */
import { configError, type KeyflowError } from '../../shared/errors.js';
import { reportedElsewhere } from '../../shared/ignore.js';
import type { LineBatchView } from '../../shared/codec/line-batch.js';
import { ExactlyOnceFileSink, type SinkOwner } from './exactly-once-file.js';
import type { NdjsonSink } from './ndjson.js';

/**
 * A sink that holds every output exactly once: outputs are numbered per key-group by the actors, the same
 * in a replay, and a sink takes each number once.
 */
export interface ExactlyOnceSink {
  /** What dead letters name as the output's target. */
  readonly path: string;
  /** Write output `n` of key-group `kg` unless the sink has it; a value JSON cannot write is skipped and its error returned. */
  write(kg: number, n: number, value: unknown): Error | null;
  /** Whether output `n` of key-group `kg` is new to the sink; it counts as written from now on. */
  claim(kg: number, n: number): boolean;
  /** The lines of a batch an actor wrote, each unless the sink has it; a promise: read no more output until it resolves. */
  writeLines(batch: LineBatchView): Promise<void> | void;
  /** Make everything written so far durable (a checkpoint completes only then); throws or rejects if it cannot. */
  commit(): Promise<void> | void;
  /** Write out what is pending, without committing it, and let go. */
  close(): Promise<void> | void;
  /** What comes from now on is what the end of input fired, after the final checkpoint (see JetStreamSink's `atEnd`). */
  endOfInput?(): void;
}

/** Which output of a pipeline a file holds. */
export type SinkOutput = 'results' | 'late';

/** An NDJSON stream that takes a pipeline's output; `wrap`: as `{ pipeline, result }` (or `event`). */
export interface StreamSink {
  sink: NdjsonSink;
  wrap: boolean;
}

export class SinkSet {
  private readonly all: ExactlyOnceSink[] = [];
  /** Indexed by pipeline. */
  private readonly byOutput: Record<SinkOutput, Array<ExactlyOnceSink | undefined>> = { results: [], late: [] };
  private readonly streams: Record<SinkOutput, Array<StreamSink | undefined>> = { results: [], late: [] };
  /** Called when a pipeline's output gets a file or a stream. */
  added: () => void = () => {};
  /** Sinks on their way (their module loading): the output plan waits for them (see whenAdded()). */
  private readonly pending = new Set<Promise<void>>();

  constructor(readonly maxKeyGroups: number, readonly owner: SinkOwner, readonly fail: (err: KeyflowError) => void) {}

  /**
   * Fails with ERR_KEYFLOW_STATE_DIR if another process writes the file, or its commit record belongs to
   * another state directory; with ERR_KEYFLOW_OUTPUT if it cannot be opened.
   */
  add(output: SinkOutput, pipe: number, pipeline: string, path: string): void {
    this.free(output, pipe, pipeline);
    this.addSink(output, pipe, pipeline, new ExactlyOnceFileSink(path, this.maxKeyGroups, this.owner, this.fail));
  }

  /** Throws if the pipeline's output has its exactly-once sink already. */
  free(output: SinkOutput, pipe: number, pipeline: string): void {
    const taken = this.byOutput[output][pipe];
    if (taken) throw configError(`pipeline '${pipeline}' already writes that output to ${taken.path}`);
  }

  /** An exactly-once sink made elsewhere (see free()). */
  addSink(output: SinkOutput, pipe: number, pipeline: string, sink: ExactlyOnceSink): void {
    this.free(output, pipe, pipeline);
    this.byOutput[output][pipe] = sink;
    this.all.push(sink);
    this.added();
  }

  /** Write a pipeline's output to an NDJSON stream too (not exactly once). */
  addStream(output: SinkOutput, pipe: number, pipeline: string, stream: StreamSink): void {
    const taken = this.streams[output][pipe];
    if (taken) throw configError(`pipeline '${pipeline}' already writes that output to ${taken.sink.target}`);
    this.streams[output][pipe] = stream;
    this.added();
  }

  /** A sink that `adding` adds, once its module has loaded. */
  adding(adding: Promise<unknown>): void {
    const settled = adding.then(() => {}, reportedElsewhere);
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
  }

  /** Resolves once every sink on its way has been added (or failed to be). */
  async whenAdded(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** The NDJSON stream a pipeline's output goes to, if any. */
  streamOf(output: SinkOutput, pipe: number): StreamSink | undefined {
    return this.streams[output][pipe];
  }

  /** The exactly-once sink a pipeline's output goes to, if any. */
  of(output: SinkOutput, pipe: number): ExactlyOnceSink | undefined {
    return this.byOutput[output][pipe];
  }

  /** Commit every sink; a promise when one commits asynchronously (a broker's acknowledgements). */
  commit(): Promise<void> | void {
    const waits = this.all.map((s) => s.commit()).filter((c): c is Promise<void> => c !== undefined);
    if (waits.length > 0) return Promise.all(waits).then(() => {});
  }

  /** The final checkpoint is complete: what follows is what the end of input fires. */
  endOfInput(): void {
    for (const s of this.all) s.endOfInput?.();
  }

  /** Close every sink (each reports its own failures to the engine). */
  async close(): Promise<void> {
    await Promise.all(this.all.map(async (s) => { await s.close(); }));
  }
}
