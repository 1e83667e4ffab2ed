import { Decoder, Encoder } from './cbor.js';
import type { DecodingBuffer } from './buffer-slices.js';
import { FieldKind, MAX_SHAPES, ShapeFinder, builderFor, type Shape } from './object-shapes.js';

/**
 * A column of arbitrary values (a frame's keys, or its values), laid out for what streams carry: the same
 * few shapes over and over. Frames of Nexmark bids through cbor-x cost about 0.4 µs per bid to encode and
 * decode; in this layout about a third of that (benchmarks/frame-codec.ts):
 *
 * - numbers are int32s when every one of a column is, else float64s; strings one run of UTF-8 with their
 *   lengths, or, when a column repeats a few strings, those once and an index per value (the values
 *   decoded from it are then shared strings); undefined, null and booleans a tag;
 * - plain objects of a repeated shape (the same keys in the same order) are stored once per field, each
 *   field a column of its own (recursively), and rebuilt by code compiled per shape (object-shapes.ts);
 * - plain arrays (a join's [input, event], an event's list of tags) as their lengths and one column of
 *   all their elements (recursively);
 * - anything else (class instances, Dates, Maps, typed arrays, bigints, objects and arrays nested deeper than
 *   MAX_DEPTH) goes through cbor-x, as whole frames did before: it decodes to what it did then, and what
 *   cbor-x cannot encode (a function, a cycle) throws as it did then.
 *
 * Layout (every count is implied: n for a column, the number of its values of each tag for a section):
 *
 *   u8 tag (every value has it) or MIXED followed by u8 tag[n]; nothing at all for an empty column
 *   | numbers: u8 width (4: int32, 8: float64), pad to width, values
 *   | strings: u8 layout, then for UTF8 (0) and ASCII (1): pad to 4, u32 byteLength[], the bytes; for
 *     DICTIONARY (2), a column that repeats a few strings: u32 m, the m distinct strings as a strings
 *     section, u8 width (1 or 2), pad to width, an index per value
 *   | per shape: u8 keys, (u16 byteLength, UTF-8) per key, then each field's column
 *   | arrays (tag 254): their lengths as a numbers section, then the column of all their elements
 *   | others: u32 byteLength, cbor array
 *
 * A frame says whether its columns may hold arrays (see frame.ts): in one written before, tag 254 was a
 * shape's.
 *
 * Number, length and index sections are read as typed-array views, so a column must start at an offset of its
 * buffer that is a multiple of 8 less its own offset in the frame (frames are 8-byte aligned).
 */

const Tag = { CBOR: 0, NUMBER: 1, STRING: 2, UNDEFINED: 3, NULL: 4, FALSE: 5, TRUE: 6, ARRAY: 0xfe } as const;
/** Shapes take the tags from FIRST_SHAPE up, one per shape in the column. */
const FIRST_SHAPE = 7;
/** Shapes a column of a frame written before array columns could hold: its tag 254 is the last of them. */
const SHAPES_BEFORE_ARRAYS = 248;
const MIXED = 0xff;
/** How a strings section is laid out (see above). */
const Strings = { UTF8: 0, ASCII: 1, DICTIONARY: 2 } as const;
/**
 * A string column with at most this share of distinct values (and at least DICTIONARY_MIN values) is
 * written as a dictionary: a stream's strings are often a handful over and over (a channel, a currency,
 * a URL per channel), and a reader then makes one string per distinct value instead of one per value.
 */
const DICTIONARY_SHARE = 1 / 4;
const DICTIONARY_MIN = 32;
/** A column whose first PROBE values hold more than their share of distinct strings is not a dictionary. */
const PROBE = 64;
/** The first distinct strings of a column, looked up by comparison before the map. */
const FEW = 8;
/**
 * Slots by string length (modulo) for the index of the last of the first FEW distinct strings met with that
 * length: most strings are then found with one comparison. Comparing two strings is a call into V8 unless
 * both are internalized (as literals are, and strings a program builds or parses mostly are not).
 */
const LENGTH_SLOTS = 32;
/** Deeper objects go through cbor-x (which also reports cycles, as before). */
const MAX_DEPTH = 8;
/**
 * Array elements one column may flatten (nested arrays included). Past it the column is written again with
 * its arrays through cbor-x: an array that holds itself would otherwise multiply at each level (a cycle
 * must throw, as cbor-x throws it), and a huge sparse one would be flattened into memory.
 */
const MAX_FLATTENED = 1 << 20;
/** Thrown by arrays() past MAX_FLATTENED; caught by column() at depth 0. */
const TOO_MANY = new Error('too many array elements to write by column');
/** A writer's buffer grown past this for one large frame is let go afterwards. */
const KEPT_BUFFER = 1 << 20;
/** V8 copies substrings shorter than this; longer ones would keep the whole column's text alive. */
const SLICED_STRING_MIN = 13;

const cborEncoder = new Encoder({ useRecords: true });
/**
 * cbor-x's record encoder keeps each shape's list of keys under this property of its own objects: an
 * object with a key of that name makes it write later objects with the wrong keys (they decode as
 * `{ undefined: … }`), in that frame and every frame after. Values that would reach it holding such a key
 * anywhere are refused instead.
 */
const RESERVED_KEY = '__keys__';
/** Whether `v` holds an object with a key named RESERVED_KEY; each object looked at once (values may hold cycles, which cbor-x then refuses). */
function holdsReservedKey(v: unknown, seen = new Set<object>()): boolean {
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || seen.has(v)) return false;
  seen.add(v);
  if (v instanceof Map) {
    for (const [k, x] of v) if (holdsReservedKey(k, seen) || holdsReservedKey(x, seen)) return true;
    return false;
  }
  if (v instanceof Set) {
    for (const x of v) if (holdsReservedKey(x, seen)) return true;
    return false;
  }
  if (Array.isArray(v)) return v.some((x) => holdsReservedKey(x, seen));
  if (Object.hasOwn(v, RESERVED_KEY)) return true;
  for (const k in v) if (holdsReservedKey((v as Record<string, unknown>)[k], seen)) return true;
  return false;
}
/** copyBuffers: byte values must not be views into a ring buffer that the next frame overwrites. */
const cborDecoder = new Decoder({ useRecords: true, copyBuffers: true });

/** Writes columns into one growing buffer, reused from frame to frame. */
export class ColumnWriter {
  // allocUnsafeSlow: a buffer of its own at offset 0, so typed-array views of it are aligned.
  private buf = Buffer.allocUnsafeSlow(1 << 16);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  at = 0;
  /** A string column's distinct values and each value's index among them (see distinct()), reused. */
  private readonly seen = new Map<string, number>();
  private readonly few: string[] = new Array<string>(FEW).fill('');
  private readonly byLength = new Int8Array(LENGTH_SLOTS).fill(-1);
  private indices = new Uint16Array(1024);
  /** Array elements the column being written has flattened so far (see MAX_FLATTENED). */
  private flattened = 0;
  /** False while a column is written again with its arrays through cbor-x. */
  private arraysByColumn = true;

  /** The bytes written since reset(). */
  get bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  reset(): void {
    this.at = 0;
    if (this.buf.length > KEPT_BUFFER) this.grow(1 << 16);
  }

  /** Append a column of `values[from..to)` (again, arrays through cbor-x, if its arrays are too many to flatten). */
  column(values: readonly unknown[], from: number, to: number): void {
    const start = this.at;
    this.flattened = 0;
    try {
      this.columnAt(values, from, to, 0);
    } catch (err) {
      if (err !== TOO_MANY) throw err;
      this.at = start;
      this.seen.clear();
      this.arraysByColumn = false;
      try {
        this.columnAt(values, from, to, 0);
      } finally {
        this.arraysByColumn = true;
      }
    }
  }

  private columnAt(values: readonly unknown[], from: number, to: number, depth: number): void {
    const n = to - from;
    if (n === 0) return;
    // Most columns (a shape's fields) are all numbers or all strings: told by typeof alone, no tag per value.
    const simple = simpleTag(values, from, to);
    if (simple !== 0) return this.simple(simple, values, from, to);
    this.room(1 + n);
    const tagsAt = this.at + 1;
    const shapes = new ShapeFinder();
    let uniform = true;
    for (let i = 0; i < n; i++) {
      const tag = this.tagOf(values[from + i], i + 1 < n ? values[from + i + 1] : undefined, shapes, depth);
      this.buf[tagsAt + i] = tag;
      if (tag !== this.buf[tagsAt]) uniform = false;
    }
    if (uniform) {
      // The common case: one section, written from the values where they are.
      const tag = this.buf[tagsAt];
      this.buf[this.at] = tag;
      this.at += 1;
      this.section(tag, values, from, to, shapes, depth);
      return;
    }
    this.buf[this.at] = MIXED;
    this.at = tagsAt + n;
    // Each tag's values (tags are small numbers), in the order the sections are written.
    const byTag: Array<unknown[] | undefined> = [];
    for (let i = 0; i < n; i++) (byTag[this.buf[tagsAt + i]] ??= []).push(values[from + i]);
    for (const tag of [Tag.NUMBER, Tag.STRING, ...shapes.shapes.map((shape) => FIRST_SHAPE + shape.index), Tag.ARRAY, Tag.CBOR]) {
      const list = byTag[tag];
      if (list !== undefined) this.section(tag, list, 0, list.length, shapes, depth);
    }
  }

  /** A column of values[from..to) that are all numbers (Tag.NUMBER) or all strings (Tag.STRING): its tag, then its one section. */
  private simple(tag: typeof Tag.NUMBER | typeof Tag.STRING, values: readonly unknown[], from: number, to: number): void {
    this.room(1);
    this.buf[this.at++] = tag;
    if (tag === Tag.NUMBER) this.numbers(values as readonly number[], from, to);
    else this.strings(values as readonly string[], from, to);
  }

  /** The tag `v` is written under (a shape's, if it is an object of a shape `shapes` finds); `next` is the column's next value. */
  private tagOf(v: unknown, next: unknown, shapes: ShapeFinder, depth: number): number {
    switch (typeof v) {
      case 'number': return Tag.NUMBER;
      case 'string': return Tag.STRING;
      case 'undefined': return Tag.UNDEFINED;
      case 'boolean': return v ? Tag.TRUE : Tag.FALSE;
      case 'object': {
        if (v === null) return Tag.NULL;
        const proto = depth < MAX_DEPTH ? Object.getPrototypeOf(v) as unknown : null;
        if (proto === Array.prototype && this.arraysByColumn) return Tag.ARRAY;
        const shape = proto === Object.prototype ? shapes.find(v, next) : undefined;
        return shape === undefined ? Tag.CBOR : FIRST_SHAPE + shape.index;
      }
      default: return Tag.CBOR;
    }
  }

  /** The section of values[from..to), all of tag `tag`. */
  private section(tag: number, values: readonly unknown[], from: number, to: number, shapes: ShapeFinder, depth: number): void {
    switch (tag) {
      case Tag.NUMBER: return this.numbers(values as readonly number[], from, to);
      case Tag.STRING: return this.strings(values as readonly string[], from, to);
      case Tag.UNDEFINED: case Tag.NULL: case Tag.FALSE: case Tag.TRUE: return;
      case Tag.ARRAY: return this.arrays(values as readonly unknown[][], from, to, depth);
      case Tag.CBOR: return this.others(values.slice(from, to));
      default: return this.shape(shapes.shapes[tag - FIRST_SHAPE], values as readonly object[], from, to, depth);
    }
  }

  private others(others: unknown[]): void {
    // Thrown before cbor-x sees it: the record whose value it is becomes a dead letter (FrameSealer finds it).
    if (others.some((v) => holdsReservedKey(v))) throw new Error(`a field named '${RESERVED_KEY}' cannot be encoded here (cbor-x reserves the name)`);
    const cbor = cborEncoder.encode(others);
    this.u32(cbor.length);
    this.room(cbor.length);
    this.buf.set(cbor, this.at);
    this.at += cbor.length;
  }

  private arrays(arrays: readonly unknown[][], from: number, to: number, depth: number): void {
    const lengths = new Array<number>(to - from);
    const items: unknown[] = [];
    for (let a = from; a < to; a++) {
      const array = arrays[a];
      lengths[a - from] = array.length;
      this.flattened += array.length;
      if (this.flattened > MAX_FLATTENED) throw TOO_MANY;
      for (let i = 0; i < array.length; i++) items.push(array[i]);
    }
    this.numbers(lengths, 0, lengths.length);
    this.columnAt(items, 0, items.length, depth + 1);
  }

  private numbers(numbers: readonly number[], from: number, to: number): void {
    const n = to - from;
    // Room for either layout: the width, padding to 8, and every value as a float64.
    this.room(1 + 7 + n * 8);
    const widthAt = this.at++;
    this.pad(4);
    // As int32s while every value is one, each written as it is checked (one pass; a typed array's set()
    // from an array costs more than the loop).
    const ints = new Int32Array(this.buf.buffer, this.buf.byteOffset + this.at, n);
    let i = 0;
    for (; i < n; i++) {
      const v = numbers[from + i];
      if ((v | 0) !== v) break;
      ints[i] = v;
    }
    if (i === n) {
      this.buf[widthAt] = 4;
      this.at += n * 4;
      return;
    }
    this.buf[widthAt] = 8;
    this.at = widthAt + 1;
    this.pad(8);
    const floats = new Float64Array(this.buf.buffer, this.buf.byteOffset + this.at, n);
    // -0 is written as 0 (-0 + 0 is 0), as cbor-x wrote it (and snapshots still do: a restored run sees what a live one saw).
    for (let k = 0; k < n; k++) floats[k] = numbers[from + k] + 0;
    this.at += n * 8;
  }

  private strings(strings: readonly string[], from: number, to: number): void {
    const dictionary = to - from >= DICTIONARY_MIN ? this.distinct(strings, from, to) : 0;
    if (dictionary > 0) this.dictionary(to - from, dictionary);
    else this.raw(strings, from, to);
    // Let go of the column's strings.
    this.seen.clear();
    this.few.fill('');
  }

  /**
   * The number of distinct strings in `strings[from..to)`, each value's index among them left in `indices`;
   * or 0 if they are more than DICTIONARY_SHARE of the values (given up as soon as that is clear).
   */
  private distinct(strings: readonly string[], from: number, to: number): number {
    const n = to - from;
    // Indices are at most u16s.
    const most = Math.min(Math.floor(n * DICTIONARY_SHARE), 2 ** 16);
    const seen = this.seen;
    if (this.indices.length < n) this.indices = new Uint16Array(Math.max(n, this.indices.length * 2));
    const indices = this.indices;
    const few = this.few;
    const byLength = this.byLength.fill(-1);
    let m = 0;
    for (let i = 0; i < n; i++) {
      const s = strings[from + i];
      const slot = s.length & (LENGTH_SLOTS - 1);
      let k = byLength[slot];
      if (k === -1 || few[k] !== s) {
        // The first few distinct strings by comparison, the rest by the map.
        k = 0;
        while (k < m && k < FEW && few[k] !== s) k++;
        if (k === FEW) k = seen.get(s) ?? m;
        if (k === m) {
          // A new distinct string: too many of them, overall or already among the first values (a column of
          // names or ids is given up after a few lookups, not a quarter of its values).
          if (m === most || (i < PROBE && m === PROBE * DICTIONARY_SHARE)) return 0;
          if (m < FEW) few[m] = s;
          seen.set(s, m);
          m++;
        }
        if (k < FEW) byLength[slot] = k;
      }
      indices[i] = k;
    }
    return m;
  }

  /** `n` strings as their `m` distinct values (in the order met, the keys of `seen`) and an index per value (in `indices`). */
  private dictionary(n: number, m: number): void {
    this.room(1);
    this.buf[this.at++] = Strings.DICTIONARY;
    this.u32(m);
    const distinct = [...this.seen.keys()];
    this.raw(distinct, 0, m);
    const width = m <= 256 ? 1 : 2;
    this.room(1);
    this.buf[this.at++] = width;
    this.pad(width);
    this.room(n * width);
    const indices = this.indices.subarray(0, n);
    if (width === 1) this.buf.set(indices, this.at);
    else new Uint16Array(this.buf.buffer, this.buf.byteOffset + this.at, n).set(indices);
    this.at += n * width;
  }

  private raw(strings: readonly string[], from: number, to: number): void {
    const n = to - from;
    const flagAt = this.at;
    this.at += 1;
    this.pad(4);
    const lengthsAt = this.at;
    this.at += n * 4;
    const joined = (from === 0 && to === strings.length ? strings : strings.slice(from, to)).join('');
    this.room(joined.length * 3);
    const written = this.buf.write(joined, this.at, 'utf8');
    const ascii = written === joined.length;
    this.buf[flagAt] = ascii ? Strings.ASCII : Strings.UTF8;
    if (ascii) {
      for (let i = 0; i < n; i++) this.view.setUint32(lengthsAt + i * 4, strings[from + i].length, true);
      this.at += written;
      return;
    }
    // Some string is not ASCII: its UTF-8 length differs from its length, so write them one by one.
    for (let i = 0; i < n; i++) {
      const bytes = this.buf.write(strings[from + i], this.at, 'utf8');
      this.view.setUint32(lengthsAt + i * 4, bytes, true);
      this.at += bytes;
    }
  }

  private shape(shape: Shape, objects: readonly object[], from: number, to: number, depth: number): void {
    const { keys } = shape;
    this.room(1);
    this.buf[this.at++] = keys.length;
    for (const key of keys) {
      this.room(2 + key.length * 3);
      const bytes = this.buf.write(key, this.at + 2, 'utf8');
      this.view.setUint16(this.at, bytes, true);
      this.at += 2 + bytes;
    }
    const gathered = shape.code.gather(objects, from, to);
    const { fields, kinds } = gathered;
    for (let f = 0; f < fields.length; f++) {
      // A field of one kind throughout (the common case) skips classifying each value.
      if (kinds[f] === FieldKind.NUMBERS) this.simple(Tag.NUMBER, fields[f], 0, to - from);
      else if (kinds[f] === FieldKind.STRINGS) this.simple(Tag.STRING, fields[f], 0, to - from);
      else this.columnAt(fields[f], 0, to - from, depth + 1);
    }
    // Not on a throw: the next gather then makes arrays anew, and these go with the garbage.
    shape.code.release(gathered);
  }

  private u32(x: number): void {
    this.room(4);
    this.view.setUint32(this.at, x, true);
    this.at += 4;
  }

  private pad(to: number): void {
    const padded = (this.at + to - 1) & ~(to - 1);
    this.room(padded - this.at);
    // Zeroed: the buffer is not (allocUnsafeSlow), and frames go to disk in the write-ahead log.
    this.buf.fill(0, this.at, padded);
    this.at = padded;
  }

  /** Make room for `bytes` more. */
  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + bytes) size *= 2;
    this.grow(size);
  }

  /** A buffer of `size` bytes, holding what was written so far. */
  private grow(size: number): void {
    const buf = Buffer.allocUnsafeSlow(size);
    this.buf.copy(buf, 0, 0, this.at);
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }
}

/** Tag.NUMBER if `values[from..to)` are all numbers, Tag.STRING if all strings, else 0. */
function simpleTag(values: readonly unknown[], from: number, to: number): typeof Tag.NUMBER | typeof Tag.STRING | 0 {
  const type = typeof values[from];
  if (type !== 'number' && type !== 'string') return 0;
  for (let i = from + 1; i < to; i++) if (typeof values[i] !== type) return 0;
  return type === 'number' ? Tag.NUMBER : Tag.STRING;
}

/** Reads columns from a frame's bytes, in the order they were written. */
export class ColumnReader {
  private at: number;
  private readonly buf: DecodingBuffer;
  /** Shape tags run up to FIRST_SHAPE + shapeTags - 1. */
  private readonly shapeTags: number;

  /**
   * `bytes[start..]` holds the columns; `bytes` must start 8-byte aligned in its buffer. `withArrays`: they
   * were written with array columns (tag 254 is an array section, not a shape).
   */
  constructor(bytes: Uint8Array, start: number, private readonly withArrays: boolean) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) as DecodingBuffer;
    this.at = start;
    this.shapeTags = withArrays ? MAX_SHAPES : SHAPES_BEFORE_ARRAYS;
  }

  column(n: number): unknown[] {
    if (n === 0) return [];
    const head = this.buf[this.at++];
    return head === MIXED ? this.mixed(n) : this.uniform(head, n);
  }

  /** n values of one tag. */
  private uniform(tag: number, n: number): unknown[] {
    switch (tag) {
      case Tag.NUMBER: {
        const numbers = this.numbers(n);
        const out: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = numbers[i];
        return out;
      }
      case Tag.STRING: return this.strings(n);
      case Tag.CBOR: return this.others();
      case Tag.UNDEFINED: return new Array<unknown>(n).fill(undefined);
      case Tag.NULL: return new Array<unknown>(n).fill(null);
      case Tag.FALSE: return new Array<unknown>(n).fill(false);
      case Tag.TRUE: return new Array<unknown>(n).fill(true);
      // In a frame written before array columns, tag 254 is a shape's.
      case Tag.ARRAY: return this.withArrays ? this.arrays(n) : this.shape(n);
      default: return this.shape(n);
    }
  }

  /** n values whose tags follow. */
  private mixed(n: number): unknown[] {
    const tags = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    const counts = new Uint32Array(MIXED);
    for (let i = 0; i < n; i++) counts[tags[i]]++;
    // The sections, in the order they were written.
    const numbers = counts[Tag.NUMBER] > 0 ? this.numbers(counts[Tag.NUMBER]) : null;
    const strings = counts[Tag.STRING] > 0 ? this.strings(counts[Tag.STRING]) : null;
    const shapes: unknown[][] = [];
    for (let s = 0; s < this.shapeTags && counts[FIRST_SHAPE + s] > 0; s++) shapes.push(this.shape(counts[FIRST_SHAPE + s]));
    const arrays = this.withArrays && counts[Tag.ARRAY] > 0 ? this.arrays(counts[Tag.ARRAY]) : null;
    const others = counts[Tag.CBOR] > 0 ? this.others() : null;
    const out: unknown[] = new Array(n);
    const next = counts.fill(0);
    for (let i = 0; i < n; i++) {
      const tag = tags[i];
      const k = next[tag]++;
      switch (tag) {
        case Tag.NUMBER: out[i] = numbers![k]; break;
        case Tag.STRING: out[i] = strings![k]; break;
        case Tag.CBOR: out[i] = others![k]; break;
        case Tag.UNDEFINED: out[i] = undefined; break;
        case Tag.NULL: out[i] = null; break;
        case Tag.FALSE: out[i] = false; break;
        case Tag.TRUE: out[i] = true; break;
        case Tag.ARRAY: out[i] = arrays === null ? shapes[tag - FIRST_SHAPE][k] : arrays[k]; break;
        default: out[i] = shapes[tag - FIRST_SHAPE][k];
      }
    }
    return out;
  }

  /**
   * A column of a shape's field, `k` of `indices`: numbers are read straight from the frame, and a strings
   * dictionary as its distinct strings with `indices[k]` set, as its objects are built at once.
   */
  private field(n: number, indices: (ArrayLike<number> | undefined)[], k: number): ArrayLike<unknown> {
    const tag = this.buf[this.at];
    if (tag === Tag.NUMBER) {
      this.at++;
      return this.numbers(n);
    }
    if (tag === Tag.STRING && this.buf[this.at + 1] === Strings.DICTIONARY) {
      this.at++;
      const { distinct, indices: at } = this.dictionary(n);
      indices[k] = at;
      return distinct;
    }
    return this.column(n);
  }

  private numbers(count: number): Int32Array | Float64Array {
    const width = this.buf[this.at++];
    this.at = (this.at + width - 1) & ~(width - 1);
    const at = this.buf.byteOffset + this.at;
    this.at += count * width;
    return width === 4 ? new Int32Array(this.buf.buffer, at, count) : new Float64Array(this.buf.buffer, at, count);
  }

  private strings(count: number): string[] {
    const buf = this.buf;
    if (buf[this.at] === Strings.DICTIONARY) {
      const { distinct, indices } = this.dictionary(count);
      const out: string[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = distinct[indices[i]];
      return out;
    }
    const ascii = buf[this.at] === Strings.ASCII;
    this.at = (this.at + 1 + 3) & ~3;
    const lengths = new Uint32Array(buf.buffer, buf.byteOffset + this.at, count);
    this.at += count * 4;
    const out: string[] = new Array(count);
    let at = this.at;
    if (ascii) {
      // Short strings are cut from one decoded run (V8 copies them); longer ones decoded one by one, so
      // none keeps the run alive.
      let end = at;
      for (let i = 0; i < count; i++) end += lengths[i];
      let text: string | null = null;
      const start = at;
      for (let i = 0; i < count; i++) {
        const len = lengths[i];
        if (len >= SLICED_STRING_MIN) out[i] = buf.latin1Slice(at, at + len);
        else out[i] = (text ??= buf.latin1Slice(start, end)).substring(at - start, at - start + len);
        at += len;
      }
    } else {
      for (let i = 0; i < count; i++) {
        const len = lengths[i];
        out[i] = len === 0 ? '' : buf.utf8Slice(at, at + len);
        at += len;
      }
    }
    this.at = at;
    return out;
  }

  /** `count` strings written as a dictionary: the distinct strings, and each value's index among them (a view into the frame). */
  private dictionary(count: number): { distinct: string[]; indices: Uint8Array | Uint16Array } {
    const buf = this.buf;
    const m = buf.readUInt32LE(this.at + 1);
    this.at += 5;
    const distinct = this.strings(m);
    const width = buf[this.at++];
    this.at = (this.at + width - 1) & ~(width - 1);
    const indices = width === 1 ? buf.subarray(this.at, this.at + count) : new Uint16Array(buf.buffer, buf.byteOffset + this.at, count);
    this.at += count * width;
    return { distinct, indices };
  }

  private shape(count: number): unknown[] {
    const buf = this.buf;
    const keyCount = buf[this.at++];
    const keys: string[] = new Array(keyCount);
    for (let k = 0; k < keyCount; k++) {
      const len = buf.readUInt16LE(this.at);
      keys[k] = buf.utf8Slice(this.at + 2, this.at + 2 + len);
      this.at += 2 + len;
    }
    const fields: ArrayLike<unknown>[] = new Array(keyCount);
    const indices = new Array<ArrayLike<number> | undefined>(keyCount).fill(undefined);
    for (let k = 0; k < keyCount; k++) fields[k] = this.field(count, indices, k);
    const build = builderFor(keys, indices.map((at) => at !== undefined));
    const out: unknown[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = build(fields, indices, i);
    return out;
  }

  /** `count` arrays: their lengths, then all their elements. */
  private arrays(count: number): unknown[][] {
    const lengths = this.numbers(count);
    let total = 0;
    for (let a = 0; a < count; a++) total += lengths[a];
    const items = this.column(total);
    const out: unknown[][] = new Array(count);
    let at = 0;
    for (let a = 0; a < count; a++) {
      const array: unknown[] = new Array(lengths[a]);
      for (let i = 0; i < array.length; i++) array[i] = items[at++];
      out[a] = array;
    }
    return out;
  }

  private others(): unknown[] {
    const len = this.buf.readUInt32LE(this.at);
    this.at += 4;
    const values = cborDecoder.decode(this.buf.subarray(this.at, this.at + len)) as unknown[];
    this.at += len;
    return values;
  }
}
