/**
 * In which form each pipeline's results and late events come from the actors (see OutputForm in
 * records.ts), from what the calling thread does with them: a results() or late() stream takes values;
 * a file or stdout alone takes the NDJSON lines the actors write; with neither, the actors send only a
 * count (a blackhole: nothing else is done with them on this thread). The plan goes to the actors before
 * they replay or take input, so that outputs follow it from the first, and again when it changes: input
 * ingested after a stream is asked for waits until the actors know of it, so the stream gets every output
 * they emit from then on (what they emitted before, as a count, is not delivered).
 */
import type { ActorSet } from './actor-set.js';
import type { Outputs } from './outputs.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { OutputForm, type OutputPlan } from '../shared/codec/records.js';
import type { SinkOutput, SinkSet } from './sinks/sink-set.js';
import { reportedElsewhere } from '../shared/ignore.js';

export class OutputPlanner {
  /** Set once the actors have been told a plan (before replay); changes after that are sent as they come. */
  private begun = false;
  private sent = '';
  /** The latest change on its way to the actors; it never rejects (a failed engine reports its failure elsewhere). */
  private sending: Promise<void> = Promise.resolve();

  constructor(private readonly pipelines: readonly Pipeline[], private readonly outputs: Outputs, private readonly sinks: SinkSet,
              private readonly actors: ActorSet,
              /** True while a rescaling pre-run captures every output as a value, for the engine that follows. */
              private readonly capturing: () => boolean) {
    outputs.subscribed = () => this.changed();
    sinks.added = () => this.changed();
  }

  plan(): OutputPlan {
    return this.pipelines.map((_, pipe) => ({ results: this.form('results', pipe), late: this.form('late', pipe) }));
  }

  /**
   * Tell the actors the plan; resolves once each has it. Nothing is on its way yet (changes before begin()
   * are not sent), so this needs no place in the `sending` chain.
   */
  async begin(): Promise<void> {
    // A sink still loading (a broker's) is in the first plan: it must get what the WAL's replay emits.
    await this.sinks.whenAdded();
    this.begun = true;
    await this.send();
  }

  /** Resolves once the actors have the plan as it stands. */
  settled(): Promise<void> {
    return this.sending;
  }

  private changed(): void {
    if (this.begun) this.sending = this.sending.then(() => this.send()).catch(reportedElsewhere);
  }

  private async send(): Promise<void> {
    const plan = this.plan();
    const text = JSON.stringify(plan);
    if (text === this.sent) return;
    this.sent = text;
    await this.actors.setOutputPlan(plan);
  }

  private form(output: SinkOutput, pipe: number): OutputForm {
    if (this.capturing() || this.outputs.has(`${output}:${this.pipelines[pipe].name}`)) return OutputForm.VALUES;
    const file = this.sinks.of(output, pipe);
    const stream = this.sinks.streamOf(output, pipe);
    if (stream?.wrap) return file ? OutputForm.VALUES : OutputForm.WRAPPED_LINES;
    return file || stream ? OutputForm.LINES : OutputForm.COUNTED;
  }
}
