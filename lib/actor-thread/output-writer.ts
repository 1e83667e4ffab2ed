/**
 * What an actor sends back, put into its output frames in order: results and late events in the form the
 * calling thread asked for (an OutputPlan: values for a results() stream, NDJSON lines for a file or
 * stdout, or only a count when nobody takes them), problems, barrier acknowledgements and the end marker.
 * Lines and counts are gathered into one record per pipeline and output (a run), so the calling thread
 * handles batches of bytes, not results. Every run joins the frame before a problem, a barrier
 * acknowledgement or the end marker does: a barrier's acknowledgement follows every result emitted before
 * the barrier (the sinks commit, on it, what the checkpoint covers).
 */
import type { Activity } from '../shared/activity.js';
import { LineBatchWriter, ndjsonLine, wrapRecord } from '../shared/codec/line-batch.js';
import type { FrameSender } from '../shared/codec/frame-sender.js';
import { Kind, OutputForm, type OutputPlan, type SnapshotAck } from '../shared/codec/records.js';
import { describeThrown } from '../shared/errors.js';
import type { Problem } from '../shared/dead-letter.js';

type LinesKind = typeof Kind.RESULT_LINES | typeof Kind.LATE_LINES;

/** The lines (or the count) being gathered for one pipeline's results, or its late events. */
class Run {
  readonly batch = new LineBatchWriter();
  count = 0;
  /** The key-group of its first line. */
  kg = 0;
  form: OutputForm = OutputForm.VALUES;

  constructor(readonly pipe: number, readonly kind: LinesKind) {}
}

export class OutputWriter {
  /** Until told otherwise, everything goes as values (a rescaling pre-run hands its outputs on as such). */
  private plan: OutputPlan;
  /** Per pipeline, its results' run and its late events' run: pipelines whose outputs interleave still batch. */
  private readonly runs: Run[][];
  /** The runs holding something, in the order they began. */
  private readonly open: Run[] = [];

  constructor(private readonly out: FrameSender, private readonly names: readonly string[], private readonly activity: Activity,
              /** Seals the frame being built as it is (its records into frames). */
              private readonly sealFrame: () => void,
              /** Text per batch of lines: well under a frame, so a batch never makes one too large. */
              private readonly maxBatchText: number) {
    this.plan = names.map(() => ({ results: OutputForm.VALUES, late: OutputForm.VALUES }));
    this.runs = names.map((_, pipe) => [new Run(pipe, Kind.RESULT_LINES), new Run(pipe, Kind.LATE_LINES)]);
  }

  /** Change the plan (between frames): what was gathered under the old one goes first. */
  setPlan(plan: OutputPlan): void {
    this.flush();
    this.plan = plan;
  }

  result(pipe: number, kg: number, n: number, value: unknown): void {
    this.output(false, pipe, kg, n, value);
  }

  late(pipe: number, kg: number, n: number, event: unknown): void {
    this.output(true, pipe, kg, n, event);
  }

  problem(pipe: number, src: number, kg: number, pos: number, problem: Problem): void {
    this.flush();
    this.out.builder.error(pipe, src, kg, pos, problem.key, problem);
    this.emitted();
  }

  barrierAck(checkpoint: number, ack: SnapshotAck): void {
    this.flush();
    this.out.builder.barrierAck(checkpoint, ack);
    this.emitted();
  }

  end(): void {
    this.flush();
    this.out.builder.end();
    this.emitted();
  }

  /** Put every run being gathered into the frame, sealing it whenever it fills. */
  flush(): void {
    for (const run of this.open.splice(0)) this.put(run);
  }

  private put(run: Run): void {
    const at = this.open.indexOf(run);
    if (at >= 0) this.open.splice(at, 1);
    this.out.builder.lines(run.kind, run.pipe, run.kg, run.count, run.form === OutputForm.COUNTED ? null : run.batch.take());
    run.count = 0;
    if (this.out.builder.full) this.sealFrame();
  }

  /** A result or a late event, in the form the plan gives its pipeline. */
  private output(late: boolean, pipe: number, kg: number, n: number, value: unknown): void {
    const form = late ? this.plan[pipe].late : this.plan[pipe].results;
    if (form === OutputForm.VALUES) return this.value(late, pipe, kg, n, value);
    this.activity.emitted();
    const run = this.runs[pipe][late ? 1 : 0];
    if (form === OutputForm.COUNTED) return this.add(run, form, kg, n, null);
    let line: string;
    try {
      line = ndjsonLine(form === OutputForm.WRAPPED_LINES ? wrapRecord(this.names[pipe], late, value) : value);
    } catch (err) {
      // After the lines before it: an exactly-once file takes a key-group's numbers in order.
      if (run.count > 0) this.put(run);
      this.out.builder.unwritable(pipe, kg, n, { late, error: describeThrown(err) });
      if (this.out.builder.full) this.sealFrame();
      return;
    }
    // A line too long for a batch goes as a value (the calling thread writes it), as it would to a results() stream.
    if (run.count > 0 && (line.length > this.maxBatchText || run.batch.textLength + line.length > this.maxBatchText)) this.put(run);
    if (line.length > this.maxBatchText) return this.value(late, pipe, kg, n, value);
    this.add(run, form, kg, n, line);
  }

  private add(run: Run, form: OutputForm, kg: number, n: number, line: string | null): void {
    if (run.count === 0) {
      run.kg = kg;
      run.form = form;
      this.open.push(run);
    }
    if (line !== null) run.batch.add(kg, n, line);
    run.count++;
  }

  private value(late: boolean, pipe: number, kg: number, n: number, value: unknown): void {
    if (late) this.out.builder.late(pipe, kg, n, value);
    else this.out.builder.result(pipe, kg, n, value);
    this.emitted();
  }

  /** After one record joined the frame: progress, and seal the frame when the builder is full. */
  private emitted(): void {
    this.activity.emitted();
    if (this.out.builder.full) this.sealFrame();
  }
}
