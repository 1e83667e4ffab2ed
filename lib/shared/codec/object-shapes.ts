/**
 * The shapes of plain objects in a value column (value-columns.ts): which objects share one (the same keys
 * in the same order), and per shape the code that takes their fields apart and builds objects back: named
 * property loads and one object literal, compiled once per shape and thread, so the objects rebuilt share a
 * hidden class as JSON.parse's do.
 *
 * Only repeated key sets become shapes. Objects used as dictionaries (keys that are data: `{ [userId]: n }`)
 * would otherwise compile code for every object; a key set is a shape once it is seen twice in a column (or
 * in two objects in a row), and the compiled code of at most MAX_COMPILED shapes is kept per thread.
 * Without code generation (`--disallow-code-generation-from-strings`) a writer makes no shapes (objects
 * go through cbor-x) and a reader builds the objects of frames written elsewhere one key at a time.
 */

/** What a shape's field held in every object gathered: only numbers, only strings, or anything. */
export const FieldKind = { MIXED: 0, NUMBERS: 1, STRINGS: 2 } as const;

/**
 * A shape's objects taken apart: one array per key, the objects' fields at [0, count) (the arrays may be
 * longer), and the kind of each field (a FieldKind).
 */
export interface Gathered {
  fields: unknown[][];
  count: number;
  kinds: number[];
}

export interface ShapeCode {
  /**
   * The objects' fields. The arrays are the code's own, reused from frame to frame (arrays made anew per
   * frame cost the encoder a seventh of its time, most of it changing their element kinds as they fill):
   * hand them back with release() once written. A shape nested in itself gathers into arrays of its own.
   */
  gather(objects: readonly object[], from: number, to: number): Gathered;
  release(gathered: Gathered): void;
}

/**
 * The object at `i` of a shape's field columns. A field whose `indices` are set is read through them: its
 * column holds the distinct values (a strings dictionary, value-columns.ts), `indices[k][i]` the object's.
 */
export type Build = (fields: ArrayLike<unknown>[], indices: (ArrayLike<number> | undefined)[], i: number) => Record<string, unknown>;

export interface Shape {
  keys: string[];
  /** Its position among the column's shapes. */
  index: number;
  code: ShapeCode;
}

/** Objects with more fields than this go through cbor-x: they are rarely repeated shapes. */
const MAX_FIELDS = 64;
/** A key's UTF-8 length is a u16 in the frame. */
const MAX_KEY_LENGTH = 1024;
const MAX_COMPILED = 1024;
/**
 * A column holds shapes up to this many (the rest of its objects go through cbor-x). Frames written before
 * array columns held up to 248: their tag 254 is a shape (see value-columns.ts).
 */
export const MAX_SHAPES = 247;

const canCompile = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    new Function('');
    return true;
  } catch {
    return false;
  }
})();

/** Groups one column's plain objects by shape. */
export class ShapeFinder {
  readonly shapes: Shape[] = [];
  private last: Shape | undefined;
  /** Key sets met in this column (JSON of the keys): their shape, or null if met once and not a shape yet. */
  private readonly met = new Map<string, Shape | null>();

  /** The shape of `o` (a plain object), or undefined if it is to go through cbor-x; `next` is the column's next value. */
  find(o: object, next: unknown): Shape | undefined {
    if (this.last !== undefined && hasKeys(o, this.last.keys)) return this.last;
    for (let s = 0; s < this.shapes.length && s < 4; s++) {
      if (hasKeys(o, this.shapes[s].keys)) return (this.last = this.shapes[s]);
    }
    if (!canCompile) return undefined;
    const keys = Object.keys(o);
    // for-in (hasKeys) also sees inherited enumerable keys: such an object is not one of our shapes. An own
    // "__proto__" cannot be written in an object literal.
    if (keys.length > MAX_FIELDS || !hasKeys(o, keys) || keys.some((k) => k === '__proto__' || k.length > MAX_KEY_LENGTH)) return undefined;
    const id = JSON.stringify(keys);
    let shape = this.met.get(id);
    if (shape) return (this.last = shape);
    const repeated = shape === null || (typeof next === 'object' && next !== null && hasKeys(next, keys));
    if (!repeated || this.shapes.length === MAX_SHAPES) {
      this.met.set(id, null);
      return undefined;
    }
    const code = compiledFor(keys, id);
    if (code === undefined) return undefined;
    shape = { keys, index: this.shapes.length, code };
    this.shapes.push(shape);
    this.met.set(id, shape);
    return (this.last = shape);
  }
}

/** Whether `o`'s enumerable keys are `keys`, in that order. */
function hasKeys(o: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in o) if (k !== keys[i++]) return false;
  return i === keys.length;
}

const compiled = new Map<string, ShapeCode>();

/** A shape's compiled code; undefined once MAX_COMPILED shapes have code (the writer then sends the shape through cbor-x). */
function compiledFor(keys: readonly string[], id: string): ShapeCode | undefined {
  let code = compiled.get(id);
  if (code === undefined && compiled.size < MAX_COMPILED) {
    code = compile(keys);
    compiled.set(id, code);
  }
  return code;
}

/** Compiled builders, by shape and which of its fields are read through indices. */
const builders = new Map<string, Build>();

/**
 * The code that builds a shape's objects on the reading side, `throughIndices[k]` when field k is read
 * through indices (see Build): compiled if it can be, else one key at a time.
 */
export function builderFor(keys: readonly string[], throughIndices: readonly boolean[]): Build {
  const id = JSON.stringify(keys) + throughIndices.map((x) => (x ? 1 : 0)).join('');
  let code = canCompile ? builders.get(id) : undefined;
  if (code === undefined && canCompile && builders.size < MAX_COMPILED) {
    code = compileBuild(keys, throughIndices);
    builders.set(id, code);
  }
  return code ?? ((fields, indices, i) => build(keys, fields, indices, i));
}

function build(keys: readonly string[], fields: ArrayLike<unknown>[], indices: (ArrayLike<number> | undefined)[], i: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let k = 0; k < keys.length; k++) {
    const at = indices[k];
    o[keys[k]] = fields[k][at === undefined ? i : at[i]];
  }
  return o;
}

/** Keys as JavaScript string literals (JSON string literals are), so nothing else gets into compiled code. */
const literals = (keys: readonly string[]) => keys.map((k) => JSON.stringify(k));

function compileBuild(keys: readonly string[], throughIndices: readonly boolean[]): Build {
  const fields = literals(keys).map((k, f) => `${k}: fields[${f}][${throughIndices[f] ? `indices[${f}][i]` : 'i'}]`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('fields', 'indices', 'i', `return { ${fields.join(', ')} };`) as Build;
}

function compile(keys: readonly string[]): ShapeCode {
  const names = literals(keys);
  const each = (f: (name: string, i: number) => string, sep = ' ') => names.map(f).join(sep);
  const gatherInto = `const n = to - from;
    ${each((_, f) => `const f${f} = fields[${f}]; let k${f} = ${FieldKind.NUMBERS | FieldKind.STRINGS};`)}
    for (let i = 0; i < n; i++) {
      const o = objects[from + i];
      ${each((k, f) => `const v${f} = o[${k}]; f${f}[i] = v${f}; if (typeof v${f} !== 'number') k${f} &= ~${FieldKind.NUMBERS}; if (typeof v${f} !== 'string') k${f} &= ~${FieldKind.STRINGS};`)}
    }
    ${each((_, f) => `kinds[${f}] = k${f};`)}`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const into = new Function('objects', 'from', 'to', 'fields', 'kinds', gatherInto) as (objects: readonly object[], from: number, to: number, fields: unknown[][], kinds: number[]) => void;
  let free: Gathered | null = null;
  return {
    gather(objects, from, to) {
      const gathered = free ?? { fields: keys.map(() => []), count: 0, kinds: keys.map(() => FieldKind.MIXED) };
      free = null;
      into(objects, from, to, gathered.fields, gathered.kinds);
      gathered.count = to - from;
      return gathered;
    },
    release(gathered) {
      // Let go of what the objects held (numbers hold nothing, and clearing them would change their arrays' element kind).
      for (let f = 0; f < keys.length; f++) if (gathered.kinds[f] !== FieldKind.NUMBERS) gathered.fields[f].fill(undefined, 0, gathered.count);
      free = gathered;
    },
  };
}
