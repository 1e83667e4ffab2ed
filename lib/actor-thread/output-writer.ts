/**
 * What an actor sends back, put into its output frames in order: results and late events in the form the
 * calling thread asked for (an OutputPlan: values for a results() stream, NDJSON lines for a file or
 * stdout, or only a count when nobody takes them), problems, barrier acknowledgements and the end marker.
 * Lines and counts are gathered into one record per run of consecutive outputs of a pipeline, so the calling
 * thread handles batches of bytes, not results. That record joins the frame before any other record does:
 * a barrier's acknowledgement follows every result emitted before the barrier (the sinks commit, on it,
 * what the checkpoint covers).
 */
import type { Activity } from '../shared/activity.js';
import { LineBatchWriter, ndjsonLine, wrapRecord } from '../shared/codec/line-batch.js';
import type { FrameSender } from '../shared/codec/frame-sender.js';
import { Kind, OutputForm, type OutputPlan, type SnapshotAck } from '../shared/codec/records.js';
import { describeThrown } from '../shared/errors.js';
import type { Problem } from '../shared/dead-letter.js';

type LinesKind = typeof Kind.RESULT_LINES | typeof Kind.LATE_LINES;

export class OutputWriter {
  /** Until told otherwise, everything goes as values (a rescaling pre-run hands its outputs on as such). */
  private plan: OutputPlan;
  private readonly batch = new LineBatchWriter();
  /** The run being gathered: its pipeline (-1: none), kind, form, first key-group and size. */
  private runPipe = -1;
  private runKind: LinesKind = Kind.RESULT_LINES;
  private runForm: OutputForm = OutputForm.VALUES;
  private runKg = 0;
  private runCount = 0;

  constructor(private readonly out: FrameSender, private readonly names: readonly string[], private readonly activity: Activity,
              /** Seals the frame being built (it calls flush() first). */
              private readonly seal: () => void,
              /** Text per batch of lines: well under a frame, so a batch never makes one too large. */
              private readonly maxBatchText: number) {
    this.plan = names.map(() => ({ results: OutputForm.VALUES, late: OutputForm.VALUES }));
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

  /** Put the run being gathered into the frame. The builder is never left full (emitted() seals it), so it fits. */
  flush(): void {
    if (this.runPipe < 0) return;
    const pipe = this.runPipe;
    this.runPipe = -1;
    if (this.runCount === 0) return;
    this.out.builder.lines(this.runKind, pipe, this.runKg, this.runCount, this.runForm === OutputForm.COUNTED ? null : this.batch.take());
    this.runCount = 0;
    if (this.out.builder.full) this.seal();
  }

  /** A result or a late event, in the form the plan gives its pipeline. */
  private output(late: boolean, pipe: number, kg: number, n: number, value: unknown): void {
    const form = late ? this.plan[pipe].late : this.plan[pipe].results;
    if (form !== OutputForm.VALUES) {
      this.gather(late ? Kind.LATE_LINES : Kind.RESULT_LINES, form, pipe, kg, n, value);
      return;
    }
    this.flush();
    if (late) this.out.builder.late(pipe, kg, n, value);
    else this.out.builder.result(pipe, kg, n, value);
    this.emitted();
  }

  private gather(kind: LinesKind, form: OutputForm, pipe: number, kg: number, n: number, value: unknown): void {
    this.activity.emitted();
    if (pipe !== this.runPipe || kind !== this.runKind || form !== this.runForm) this.open(kind, form, pipe, kg);
    if (form === OutputForm.COUNTED) {
      this.runCount++;
      return;
    }
    let line: string;
    try {
      line = ndjsonLine(form === OutputForm.WRAPPED_LINES ? wrapRecord(this.names[pipe], kind === Kind.LATE_LINES, value) : value);
    } catch (err) {
      this.flush();
      this.out.builder.unwritable(pipe, kg, n, { late: kind === Kind.LATE_LINES, error: describeThrown(err) });
      if (this.out.builder.full) this.seal();
      return;
    }
    if (this.runCount > 0 && this.batch.textLength + line.length > this.maxBatchText) this.open(kind, form, pipe, kg);
    this.batch.add(kg, n, line);
    this.runCount++;
  }

  private open(kind: LinesKind, form: OutputForm, pipe: number, kg: number): void {
    this.flush();
    this.runPipe = pipe;
    this.runKind = kind;
    this.runForm = form;
    this.runKg = kg;
  }

  /** After one record joined the frame: progress, and seal the frame when the builder is full. */
  private emitted(): void {
    this.activity.emitted();
    if (this.out.builder.full) this.seal();
  }
}
