/**
 * An aggregate folds the events of one window into an accumulator and turns it into a result.
 *
 * Built-in aggregates (count(), sum(fn), …) read their input with a user field function (`extract`)
 * and reject bad values there, before any state changes. User aggregates are plain objects
 * `{ init, add, merge?, result }` and see the whole event.
 */
export interface Aggregate<V = any, A = any, R = any, E = any> {
  /** For messages: 'count', 'sum', … or 'custom'. */
  readonly label: string;
  /** Reads the input from an event; null when the aggregate needs no input (count) or takes the event. */
  readonly extract: ((event: E) => V) | null;
  /** Why `value` is unacceptable, or null. */
  check(value: V): string | null;
  /** True for user aggregates, whose add may throw; they run first so a throw leaves no trace. */
  readonly userCode: boolean;
  /**
   * Its input is a plain value (a number, string, boolean or null) read by `extract`, so a window pane's
   * events can travel to their actor as their inputs alone (see window-combiner.ts).
   */
  readonly combinable: boolean;
  /**
   * Its merge compares arrivals (`seq`: first(), last(), the ties of topN() and topCount()). Arrivals at two
   * actors do not compare, so it cannot merge what different actors pre-aggregated (see two-phase.ts).
   */
  readonly byArrival?: boolean;
  init(): A;
  /** `seq` increases with arrival order at the actor; first()/last() use it to merge. */
  add(acc: A, value: V, seq: number): A;
  /**
   * `add` of `count` values in turn, the e-th `inputs[at + e * stride]` with `seq + e`: a window pane's
   * inputs (see window-combiner.ts). The same adds in the same order, so the same accumulator; the
   * built-ins that many events go through do it in a loop of their own.
   */
  addRun(acc: A, inputs: ArrayLike<unknown>, at: number, stride: number, count: number, seq: number): A;
  merge: ((a: A, b: A) => A) | null;
  result(acc: A): R;
}

/** What a user writes for a custom aggregate: Flink's AggregateFunction, as plain functions. */
export interface UserAggregate<E = any, A = any, R = any> {
  init(): A;
  add(acc: A, event: E): A;
  /** Needed for session windows, which merge accumulators. */
  merge?(a: A, b: A): A;
  result(acc: A): R;
}

const BUILTIN = Symbol.for('keyflow.aggregate');

export function builtin<V, A, R, E = any>(
  spec: Omit<Aggregate<V, A, R, E>, 'userCode' | 'check' | 'combinable' | 'addRun'> & Partial<Pick<Aggregate<V, A, R, E>, 'check' | 'combinable' | 'addRun'>>,
): Aggregate<V, A, R, E> {
  return Object.assign({ check: () => null, userCode: false, combinable: true, [BUILTIN]: true }, spec, { addRun: spec.addRun ?? addEach(spec.add) });
}

/** An aggregate's addRun() as one add() after another. */
export function addEach<V, A>(add: (acc: A, value: V, seq: number) => A): Aggregate<V, A>['addRun'] {
  return (acc, inputs, at, stride, count, seq) => {
    for (let e = 0; e < count; e++) acc = add(acc, inputs[at + e * stride] as V, seq + e);
    return acc;
  };
}

export function isBuiltin(x: unknown): x is Aggregate {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BUILTIN] === true;
}

export function fromUser(user: UserAggregate): Aggregate {
  const add: Aggregate['add'] = (acc, event) => user.add(acc, event);
  return {
    label: 'custom',
    extract: null,
    check: () => null,
    userCode: true,
    combinable: false,
    init: () => user.init(),
    add,
    addRun: addEach(add),
    merge: typeof user.merge === 'function' ? (a, b) => user.merge!(a, b) : null,
    result: (acc) => user.result(acc),
  };
}

export function numberProblem(label: string, value: unknown): string | null {
  return typeof value === 'number' && !Number.isNaN(value) ? null : `${label}() needs a number, got ${describeValue(value)}`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number') return String(value);
  return value === null ? 'null' : typeof value;
}
