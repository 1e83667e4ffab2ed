/**
 * The exactly-once files an engine writes (see exactly-once-file.ts): per pipeline, at most one for its
 * results and one for its late events. Checkpoints commit them all; the engine's end closes them all.
 */
import { configError, type KeyflowError } from '../../shared/errors.js';
import { ExactlyOnceFileSink, type SinkOwner } from './exactly-once-file.js';

/** Which output of a pipeline a file holds. */
export type SinkOutput = 'results' | 'late';

export class SinkSet {
  private readonly all: ExactlyOnceFileSink[] = [];
  /** Indexed by pipeline. */
  private readonly byOutput: Record<SinkOutput, Array<ExactlyOnceFileSink | undefined>> = { results: [], late: [] };

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
