/**
 * What the actors send back, handed on: results and late events to their streams and files (as values, or
 * as NDJSON lines the actors wrote, see output-plan.ts; those nobody takes are only counted), problems
 * and records JSON cannot write to the dead-letter stream (failing the engine first with onError 'fail'), barrier
 * acknowledgements to the checkpoint coordinator, end markers counted. The output pump calls dispatch()
 * once per frame read from an actor's output ring.
 */
import type { FrameView } from '../shared/codec/frame.js';
import { Kind, type SnapshotAck, type Unwritable } from '../shared/codec/records.js';
import { LineBatchView, ndjsonLine, wrapRecord } from '../shared/codec/line-batch.js';
import { deadLetter, unwritable, where, type DeadLetter, type Problem } from '../shared/dead-letter.js';
import { KeyflowError, codes, describeThrown } from '../shared/errors.js';
import { reportedElsewhere } from '../shared/ignore.js';
import type { Failure } from './failure.js';
import type { ResolvedOptions } from './options.js';
import type { Outputs } from './outputs.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { SinkOutput, SinkSet } from './sinks/sink-set.js';
import type { SourceRegistry } from './sources/registry.js';

/** An output record as the calling thread receives it (see codec/records.ts). */
export interface CarriedOutput {
  kind: Kind;
  pipe: number;
  kg: number;
  src: number;
  /** For results and late events, their number in the key-group; for errors, the event's position. */
  pos: number;
  value: unknown;
}

/** Outputs of one pipeline so far. */
export interface OutputCounts {
  results: number;
  late: number;
  errors: number;
}

export class OutputDispatch {
  readonly counts: OutputCounts[];
  /** Dead letters of input that never reached a pipeline (a line that is not JSON). */
  inputErrors = 0;
  /** Actors that have sent their end marker. */
  ended = 0;
  /** A rescaling pre-run captures its outputs here (nobody has subscribed yet); the engine that follows delivers them. */
  captured: CarriedOutput[] | null = null;
  /** Set when an NDJSON stream's buffer is full: read no more output until it has drained. */
  private streamBehind: Promise<void> | null = null;

  constructor(private readonly pipelines: readonly Pipeline[], private readonly outputs: Outputs, private readonly sinks: SinkSet,
              private readonly sources: SourceRegistry, private readonly onError: ResolvedOptions['onError'], private readonly failure: Failure,
              /** Completes a checkpoint once every actor has acknowledged its barrier (may throw). */
              private readonly ack: (checkpoint: number, ack: SnapshotAck) => void) {
    this.counts = pipelines.map(() => ({ results: 0, late: 0, errors: 0 }));
  }

  /** Hand on one frame of outputs; a promise means a reader is behind: read no more until it resolves. */
  dispatch(frame: FrameView): Promise<void> | void {
    const { kind, pipe, src, pos, kg, values } = frame;
    let behind = false;
    for (let i = 0; i < frame.count; i++) {
      switch (kind[i]) {
        case Kind.RESULT:
        case Kind.LATE:
        case Kind.ERROR:
          if (!this.deliver({ kind: kind[i] as Kind, pipe: pipe[i], kg: kg[i], src: src[i], pos: pos[i], value: values[i] })) behind = true;
          break;
        case Kind.BARRIER_ACK:
          // A failed engine completes no checkpoint: its sinks may not hold what the barrier's state assumes.
          if (this.failure.error) break;
          // Completing a checkpoint writes the manifest and commits the sinks: a failure there ends the run.
          try {
            this.ack(pos[i], values[i] as SnapshotAck);
          } catch (err) {
            this.failure.fail(err instanceof KeyflowError ? err : new KeyflowError(codes.FAILED, `checkpoint ${pos[i]} could not complete: ${describeThrown(err)}`, err));
          }
          break;
        case Kind.RESULT_LINES:
        case Kind.LATE_LINES:
          this.lines(kind[i] === Kind.LATE_LINES ? 'late' : 'results', pipe[i], pos[i], values[i] as Uint8Array | null);
          break;
        case Kind.UNWRITABLE: {
          const u = values[i] as Unwritable;
          this.unwritable(u.late ? 'late' : 'results', pipe[i], kg[i], pos[i], u.error);
          break;
        }
        case Kind.END:
          this.ended++;
          break;
      }
    }
    const stream = this.streamBehind;
    this.streamBehind = null;
    if (this.failure.error) return;
    if (behind) return stream ? Promise.all([stream, this.outputs.drained()]).then(() => {}) : this.outputs.drained();
    if (stream) return stream;
  }

  /** `count` results (or late events) made into NDJSON lines by an actor (null: nobody takes them, count them). */
  private lines(output: SinkOutput, pipe: number, count: number, batch: Uint8Array | null): void {
    this.counts[pipe][output === 'late' ? 'late' : 'results'] += count;
    if (batch === null) return;
    const lines = new LineBatchView(batch);
    this.behindStream(this.sinks.of(output, pipe)?.writeLines(lines));
    const stream = this.sinks.streamOf(output, pipe);
    if (stream) this.behindStream(stream.sink.writeLines(lines.text()));
  }

  /**
   * A result (or late event) numbered `n` in key-group `kg` that JSON cannot write: counted, and a dead
   * letter for each file it was bound for (an exactly-once file: unless a replay brings it again).
   */
  private unwritable(output: SinkOutput, pipe: number, kg: number, n: number, error: string): void {
    const counts = this.counts[pipe];
    const ordinal = output === 'late' ? ++counts.late : ++counts.results;
    const name = this.pipelines[pipe].name;
    const file = this.sinks.of(output, pipe);
    if (file?.claim(kg, n)) this.report(unwritable(name, file.path, n, error), pipe);
    const stream = this.sinks.streamOf(output, pipe);
    if (stream) this.report(unwritable(name, streamTarget(stream.sink.target), ordinal, error), pipe);
  }

  /** Hand one output to its file and stream; false when a reader is behind. */
  deliver(o: CarriedOutput): boolean {
    if (this.captured) {
      this.captured.push(o);
      return true;
    }
    const name = this.pipelines[o.pipe]?.name;
    switch (o.kind) {
      case Kind.RESULT:
        this.counts[o.pipe].results++;
        this.toFiles('results', o, this.counts[o.pipe].results);
        return this.outputs.deliver(`results:${name}`, o.value);
      case Kind.LATE:
        this.counts[o.pipe].late++;
        this.toFiles('late', o, this.counts[o.pipe].late);
        return this.outputs.deliver(`late:${name}`, o.value);
      default:
        this.problem(o.value as Problem, o.pipe, o.src, o.pos);
        return true;
    }
  }

  /** A problem with an event (pipe -1: input that never reached a pipeline) becomes a dead letter. */
  problem(p: Problem, pipe: number, src: number, pos: number): void {
    this.report(deadLetter(p, pipe < 0 ? undefined : this.pipelines[pipe].name, this.sources.locate(src, pos)), pipe);
  }

  /** A Node process warning, once per pipeline: it changes nothing, but it explains a stream gone late. */
  warnFutureTime(pipe: number, src: number, pos: number, time: number): void {
    const days = Math.round((time - Date.now()) / 86_400_000);
    process.emitWarning(`pipeline '${this.pipelines[pipe].name}': the event at ${where(this.sources.locate(src, pos))} has event time `
      + `${new Date(time).toISOString()}, ${days.toLocaleString('en-US')} days ahead of the wall clock. The watermark follows the largest `
      + 'time seen, so later events with ordinary times will be late; fix or filter such events before eventTime().',
    { type: 'KeyflowWarning', code: 'KEYFLOW_FUTURE_EVENT_TIME' });
  }

  /**
   * A record that came as a value, to its exactly-once file and NDJSON stream, if it has them (`ordinal`:
   * its place in its output, which names it in a stream). One they cannot hold (not JSON-writable) becomes
   * a dead letter; the run goes on.
   */
  private toFiles(output: SinkOutput, o: CarriedOutput, ordinal: number): void {
    const name = this.pipelines[o.pipe].name;
    const file = this.sinks.of(output, o.pipe);
    const fileError = file?.write(o.kg, o.pos, o.value) ?? null;
    if (fileError !== null) this.report(unwritable(name, file!.path, o.pos, describeThrown(fileError)), o.pipe);
    const stream = this.sinks.streamOf(output, o.pipe);
    if (stream === undefined) return;
    let line: string;
    try {
      line = ndjsonLine(stream.wrap ? wrapRecord(name, output === 'late', o.value) : o.value);
    } catch (err) {
      this.report(unwritable(name, streamTarget(stream.sink.target), ordinal, describeThrown(err)), o.pipe);
      return;
    }
    this.behindStream(stream.sink.writeLines(line));
  }

  /**
   * A stream whose buffer is full (or a sink with as many messages in flight as it takes): wait for it. A
   * write that fails is its opener's (or sink's) to report, not a reason to stop reading.
   */
  private behindStream(wait: Promise<void> | void): void {
    if (!wait) return;
    // Every stream that fell behind in this frame is waited for, not only the last.
    const caught = wait.catch(reportedElsewhere);
    this.streamBehind = this.streamBehind ? Promise.all([this.streamBehind, caught]).then(() => {}) : caught;
  }

  /**
   * Count a dead letter and put it on the errors output. With onError 'fail', the first one fails the
   * engine; others already on their way (later records of the same batch or frame) are dropped.
   */
  private report(dl: DeadLetter, pipe: number): void {
    if (this.failure.error) return;
    if (pipe >= 0) this.counts[pipe].errors++;
    else this.inputErrors++;
    this.outputs.deliver('errors', dl);
    if (this.onError === 'fail') {
      this.failure.fail(new KeyflowError(codes.FAILED, `stopped at the first error (onError: 'fail'): ${dl.message}`, dl));
    }
  }
}

/** How a dead letter names an NDJSON stream's target. */
function streamTarget(target: string): string {
  return target === '-' ? 'stdout' : target;
}
