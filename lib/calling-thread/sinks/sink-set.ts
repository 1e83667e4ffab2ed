/**
 * The files an engine writes NDJSON to: per pipeline, at most one exactly-once file (see
 * exactly-once-file.ts) for its results and one for its late events, which checkpoints commit and the
 * engine's end closes; and NDJSON streams (a file or stdout, see ndjson.ts) that `keyflow run` writes
 * without state, several pipelines perhaps into one, which their opener closes.
 */
import { configError, type KeyflowError } from '../../shared/errors.js';
import { ExactlyOnceFileSink, type SinkOwner } from './exactly-once-file.js';
import type { NdjsonSink } from './ndjson.js';

/** Which output of a pipeline a file holds. */
export type SinkOutput = 'results' | 'late';

/** An NDJSON stream that takes a pipeline's output; `wrap`: as `{ pipeline, result }` (or `event`). */
export interface StreamSink {
  sink: NdjsonSink;
  wrap: boolean;
}

export class SinkSet {
  private readonly all: ExactlyOnceFileSink[] = [];
  /** Indexed by pipeline. */
  private readonly byOutput: Record<SinkOutput, Array<ExactlyOnceFileSink | undefined>> = { results: [], late: [] };
  private readonly streams: Record<SinkOutput, Array<StreamSink | undefined>> = { results: [], late: [] };
  /** Called when a pipeline's output gets a file or a stream. */
  added: () => void = () => {};

  constructor(private readonly maxKeyGroups: number, private readonly owner: SinkOwner, private readonly fail: (err: KeyflowError) => void) {}

  /**
   * Fails with ERR_KEYFLOW_STATE_DIR if another process writes the file, or its commit record belongs to
   * another state directory; with ERR_KEYFLOW_OUTPUT if it cannot be opened.
   */
  add(output: SinkOutput, pipe: number, pipeline: string, path: string): void {
    const taken = this.byOutput[output][pipe];
    if (taken) throw configError(`pipeline '${pipeline}' already writes that output to ${taken.path}`);
    const sink = new ExactlyOnceFileSink(path, this.maxKeyGroups, this.owner, this.fail);
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

  /** The NDJSON stream a pipeline's output goes to, if any. */
  streamOf(output: SinkOutput, pipe: number): StreamSink | undefined {
    return this.streams[output][pipe];
  }

  /** The file a pipeline's output goes to, if any. */
  of(output: SinkOutput, pipe: number): ExactlyOnceFileSink | undefined {
    return this.byOutput[output][pipe];
  }

  commit(): void {
    for (const s of this.all) s.commit();
  }

  close(): void {
    for (const s of this.all) s.close();
  }
}
