import { addEach, fromUser, isBuiltin, type Aggregate, type UserAggregate } from './aggregate.js';
import type { PaneView } from '../../shared/codec/frame.js';

export type AggregateLike<E = any> = Aggregate<any, any, any, E> | UserAggregate<E>;
export type AggregateSpec<E = any> = Record<string, AggregateLike<E>>;
/** A spec's result fields: each name with what its aggregate's result() gives. */
export type AggregateResults<S> = {
  [K in keyof S]: S[K] extends Aggregate<any, any, infer R> ? R : S[K] extends UserAggregate<any, any, infer R> ? R : unknown;
};

/** Why extraction failed: a user function threw, or it returned an unacceptable value. */
export type ExtractProblem = { kind: 'threw'; error: unknown } | { kind: 'value'; message: string };

/**
 * The named aggregates of one `.aggregate({...})`, applied together. An accumulator is an array with
 * one slot per aggregate. Applying an event is all-or-nothing: every input is extracted and checked
 * first, user adds run into scratch space, and only then is anything written.
 */
export class AggregateSet {
  readonly names: string[];
  private readonly aggs: Aggregate[];
  private readonly values: unknown[];
  private readonly userSlots: number[];
  private readonly builtinSlots: number[];
  private readonly staged: unknown[];
  /** The built-ins that read an input with a field function (count() reads none); see extractInputs. */
  private readonly inputSlots: number[];
  /** Per aggregate, where its input is among an event's inputs (0 for those that read none). */
  private readonly inputOf: number[];
  private readonly inputs: unknown[];

  constructor(spec: AggregateSpec) {
    this.names = Object.keys(spec);
    this.aggs = this.names.map((n) => (isBuiltin(spec[n]) ? withAddRun(spec[n]) : fromUser(spec[n] as UserAggregate)));
    this.values = new Array(this.aggs.length);
    this.staged = new Array(this.aggs.length);
    this.userSlots = this.aggs.flatMap((a, i) => (a.userCode ? [i] : []));
    this.inputSlots = this.aggs.flatMap((a, i) => (a.extract !== null ? [i] : []));
    this.inputOf = this.aggs.map((_, i) => Math.max(0, this.inputSlots.indexOf(i)));
    this.inputs = new Array(this.inputSlots.length);
    this.builtinSlots = this.aggs.flatMap((a, i) => (a.userCode ? [] : [i]));
  }

  /** Every aggregate is a built-in that reads a plain value with a field function (or none, as count()), never the event itself. */
  get combinable(): boolean {
    return this.aggs.every((a) => a.combinable);
  }

  /**
   * Extract like `extract`, for routing an event's inputs instead of the event (see window-combiner.ts):
   * the inputs of the aggregates that read one (`inputSlots`), or null if any extraction fails or gives
   * something other than a number, string, boolean or null. The array is scratch space, reused.
   */
  extractInputs(event: unknown): readonly unknown[] | null {
    if (this.extract(event) !== null) return null;
    const { inputSlots, values, inputs } = this;
    for (let s = 0; s < inputSlots.length; s++) {
      const v = values[inputSlots[s]];
      if (v !== null && typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') return null;
      inputs[s] = v;
    }
    return inputs;
  }

  /**
   * Add the inputs of a pane's events (see window-combiner.ts) as `addAll` would add each event's in turn
   * (the first's `seq` is `seq`): each accumulator gets the same adds in the same order, a run per
   * aggregate. Only built-ins, which do not throw, are combined.
   */
  addInputs(accs: unknown[][], pane: PaneView, seq: number): void {
    const { aggs, inputOf } = this;
    const stride = this.inputSlots.length;
    const { count, inputs, at } = pane;
    for (let w = 0; w < accs.length; w++) {
      const acc = accs[w];
      for (let i = 0; i < aggs.length; i++) acc[i] = aggs[i].addRun(acc[i], inputs, at + inputOf[i], stride, count, seq);
    }
  }

  /** Names of aggregates that cannot merge (a problem for session windows). */
  unmergeable(): string[] {
    return this.names.filter((_, i) => this.aggs[i].merge === null);
  }

  /** Read every aggregate's input from `event` into scratch space; null when all is well. */
  extract(event: unknown): ExtractProblem | null {
    const aggs = this.aggs;
    for (let i = 0; i < aggs.length; i++) {
      const agg = aggs[i];
      let v: unknown = event;
      if (agg.extract !== null) {
        try {
          v = agg.extract(event);
        } catch (error) {
          return { kind: 'threw', error };
        }
        const problem = agg.check(v);
        if (problem !== null) return { kind: 'value', message: `${this.names[i]}: ${problem}` };
      }
      this.values[i] = v;
    }
    return null;
  }

  create(): unknown[] {
    return this.aggs.map((a) => a.init());
  }

  /**
   * Add the extracted values to every accumulator in `accs`. If a user aggregate throws, nothing has
   * been written and the error propagates.
   */
  addAll(accs: unknown[][], seq: number): void {
    const { aggs, values, userSlots, builtinSlots } = this;
    if (userSlots.length > 0) {
      const staged: unknown[][] = accs.map((acc) => userSlots.map((i) => aggs[i].add(acc[i], values[i], seq)));
      for (let w = 0; w < accs.length; w++) for (let u = 0; u < userSlots.length; u++) accs[w][userSlots[u]] = staged[w][u];
    }
    for (let w = 0; w < accs.length; w++) {
      const acc = accs[w];
      for (let b = 0; b < builtinSlots.length; b++) {
        const i = builtinSlots[b];
        acc[i] = aggs[i].add(acc[i], values[i], seq);
      }
    }
  }

  /** A new accumulator combining a and b (neither is modified by built-ins). */
  merge(a: unknown[], b: unknown[]): unknown[] {
    const out = this.staged.slice();
    for (let i = 0; i < this.aggs.length; i++) out[i] = this.aggs[i].merge!(a[i], b[i]);
    return out;
  }

  /** Write each named result into `into`. May throw if a user result() throws. */
  writeResults(acc: unknown[], into: Record<string, unknown>): void {
    for (let i = 0; i < this.aggs.length; i++) into[this.names[i]] = this.aggs[i].result(acc[i]);
  }
}

/** A built-in made by another copy of keyflow (they are told by a global symbol) may be older than addRun(). */
function withAddRun(a: Aggregate): Aggregate {
  return typeof a.addRun === 'function' ? a : { ...a, addRun: addEach((acc, value, seq) => a.add(acc, value, seq)) };
}
