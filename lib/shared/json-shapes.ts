/**
 * JSON lines of a shape seen before, parsed from their bytes by code made for that shape. NDJSON input
 * repeats a few object shapes (the same keys, in the same order, with values of the same kinds), and
 * `JSON.parse` was half of a source thread's time (`keyflow run`, bids per auction: about 630 ns of a
 * Nexmark line's 1.5 µs). Once a line has been parsed by `JSON.parse`, its shape is learned: a function
 * is generated that checks each key's bytes where the key must be, reads numbers and strings straight
 * from the bytes, and builds the object with one literal. About half the cost of a string and
 * `JSON.parse` on Nexmark lines.
 *
 * It is exact or it declines: a line is taken only if its bytes are the learned shape (spaces and tabs
 * between tokens allowed, as JSON allows them), strings without escapes or control characters, and numbers
 * in JSON's grammar; anything else (another shape, an escape, a broken line) returns undefined, and the caller
 * parses the line with `JSON.parse` as before, so a value is always the one `JSON.parse` gives and a bad
 * line is reported as before. Shapes it cannot build with an object literal exactly as `JSON.parse` would
 * (a `__proto__` key, keys that hold a quote, a backslash or anything but printable ASCII, index-like keys,
 * which an object lists first), values it does not read (arrays) and shapes too large (MAX_DEPTH,
 * MAX_FIELDS) are not learned.
 */
import type { DecodingBuffer } from './codec/buffer-slices.js';

/** A learned shape: each key with the kind of its value ('number', 'string', 'boolean', 'null', or the nested object's shape). */
type Kind = 'number' | 'string' | 'boolean' | 'null' | Shape;
type Shape = ReadonlyArray<readonly [key: string, kind: Kind]>;

type ShapeParser = (bytes: DecodingBuffer, at: number, end: number, utf8: boolean) => unknown;

/** Shapes kept per thread (most recently matched first): Nexmark has three. */
const MAX_SHAPES = 8;
/** Lines that taught it nothing (the input does not repeat shapes, or its lines are declined), after which it learns from one line in SAMPLE. */
const MAX_FRUITLESS = 64;
const SAMPLE = 1024;
/** Shapes deeper than this, or with more fields than this in all, are not learned (the generated code stays small). */
const MAX_DEPTH = 8;
const MAX_FIELDS = 256;
/** Keys written in the generated code as they are: printable ASCII, no quote or backslash. */
const PLAIN_KEY = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;
const INDEX_LIKE = /^(0|[1-9][0-9]*)$/;

export class JsonShapes {
  private readonly parsers: ShapeParser[] = [];
  private readonly known = new Set<string>();
  private fruitless = 0;
  private passed = 0;

  /** The value of the JSON text in `bytes[start, end)` if it has a learned shape, else undefined. `utf8`: the bytes are not all ASCII. */
  parse(bytes: DecodingBuffer, start: number, end: number, utf8: boolean): unknown {
    const parsers = this.parsers;
    for (let i = 0; i < parsers.length; i++) {
      const value = parsers[i](bytes, start, end, utf8);
      if (value !== undefined) {
        if (i > 0) {
          const matched = parsers[i];
          parsers[i] = parsers[0];
          parsers[0] = matched;
        }
        return value;
      }
    }
    return undefined;
  }

  /** A value `JSON.parse` gave for a line: learn its shape, if it is an object whose shape is new and can be learned. */
  learn(value: unknown): void {
    if (this.parsers.length >= MAX_SHAPES || !isRecord(value)) return;
    // Learning walks the value: once many lines have taught nothing, only one in SAMPLE is tried.
    if (this.fruitless >= MAX_FRUITLESS && ++this.passed % SAMPLE !== 0) return;
    const shape = shapeOf(value, 0);
    const signature = JSON.stringify(shape);
    // A shape it cannot learn, or one it knows whose line was declined for what it holds (an escape…).
    if (shape === null || this.known.has(signature)) {
      this.fruitless++;
      return;
    }
    this.known.add(signature);
    this.parsers.push(compile(shape));
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The shape of `value`, or null if it cannot be learned; `fields`: how many fields may still be taken, nested ones included. */
function shapeOf(value: Record<string, unknown>, depth: number, fields = { left: MAX_FIELDS }): Shape | null {
  const keys = Object.keys(value);
  fields.left -= keys.length;
  if (depth >= MAX_DEPTH || fields.left < 0) return null;
  const shape: Array<readonly [string, Kind]> = [];
  for (const key of keys) {
    // An index-like key is listed before the others whatever the text's order, so the shape would not match the bytes.
    if (key === '__proto__' || !PLAIN_KEY.test(key) || INDEX_LIKE.test(key)) return null;
    const v = value[key];
    const kind: Kind | null = typeof v === 'number' ? 'number' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'boolean'
      : v === null ? 'null' : isRecord(v) ? shapeOf(v, depth + 1, fields) : null;
    if (kind === null) return null;
    shape.push([key, kind]);
  }
  return shape;
}

const QUOTE = 0x22;

/**
 * The parser of one shape: straight-line code that moves `p` through the bytes. Every check that fails
 * returns undefined. Integers of up to 15 digits are summed digit by digit (exact below 2^53); other
 * numbers in JSON's grammar are converted by Number(), which rounds as `JSON.parse` does.
 */
function compile(shape: Shape): ShapeParser {
  const code: string[] = [];
  let vars = 0;
  /** Code that checks for `text` at `p` and moves past it. */
  const expect = (text: string) => {
    code.push(`if (${[...text].map((ch, j) => `b[p + ${j}] !== ${ch.charCodeAt(0)}`).join(' || ')}) return;`, `p += ${text.length};`);
  };
  const object = (s: Shape): string => {
    const fields: string[] = [];
    expect('{');
    s.forEach(([key, kind], i) => {
      if (i > 0) expect(',');
      code.push(SKIP_WHITESPACE);
      expect(`"${key}"`);
      code.push(SKIP_WHITESPACE);
      expect(':');
      code.push(SKIP_WHITESPACE);
      const v = `v${vars++}`;
      if (typeof kind !== 'string') {
        code.push(`const ${v} = ${object(kind)};`);
      } else {
        code.push(`let ${v};`, ...VALUE_CODE[kind](v));
      }
      code.push(SKIP_WHITESPACE);
      fields.push(`${JSON.stringify(key)}: ${v}`);
    });
    if (s.length === 0) code.push(SKIP_WHITESPACE);
    expect('}');
    return `{ ${fields.join(', ')} }`;
  };
  code.push(SKIP_WHITESPACE);
  const built = object(shape);
  code.push(SKIP_WHITESPACE);
  const body = `'use strict';\nlet p = at;\n${code.join('\n')}\nif (p !== end) return;\nreturn ${built};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- made from the shape's keys (plain ASCII, checked) and fixed text
  return new Function('b', 'at', 'end', 'utf8', body) as ShapeParser;
}

/** Spaces and tabs between tokens; JSON's other whitespace (a CR inside a line) makes the line declined. */
const SKIP_WHITESPACE = 'while (b[p] === 32 || b[p] === 9) p++;';

/** Code that reads a value of each kind at `p` into `v`, or returns. */
const VALUE_CODE: Record<'number' | 'string' | 'boolean' | 'null', (v: string) => string[]> = {
  number: (v) => [
    '{',
    '  const s = p;',
    '  if (b[p] === 45) p++;',
    '  const d = p;',
    '  let c = b[p], x = 0;',
    '  if (c === 48) c = b[++p];',
    '  else if (c > 48 && c < 58) { do { x = x * 10 + c - 48; c = b[++p]; } while (c > 47 && c < 58); }',
    '  else return;',
    '  if (c === 46 || c === 101 || c === 69 || p - d > 15) {',
    '    if (c === 46) { c = b[++p]; if (!(c > 47 && c < 58)) return; do c = b[++p]; while (c > 47 && c < 58); }',
    '    if (c === 101 || c === 69) { c = b[++p]; if (c === 43 || c === 45) c = b[++p]; if (!(c > 47 && c < 58)) return; do c = b[++p]; while (c > 47 && c < 58); }',
    `    ${v} = Number(b.latin1Slice(s, p));`,
    '  } else {',
    `    ${v} = b[s] === 45 ? -x : x;`,
    '  }',
    '}',
  ],
  string: (v) => [
    `if (b[p] !== ${QUOTE}) return;`,
    '{',
    '  const s = ++p;',
    '  let c = b[p];',
    `  while (c !== ${QUOTE}) { if (c === 92 || c < 32 || c === undefined) return; c = b[++p]; }`,
    `  ${v} = p === s ? '' : utf8 ? b.utf8Slice(s, p) : b.latin1Slice(s, p);`,
    '  p++;',
    '}',
  ],
  boolean: (v) => [
    'if (b[p] === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) { p += 4; ' + v + ' = true; }',
    'else if (b[p] === 102 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101) { p += 5; ' + v + ' = false; }',
    'else return;',
  ],
  null: (v) => [`if (b[p] !== 110 || b[p + 1] !== 117 || b[p + 2] !== 108 || b[p + 3] !== 108) return;`, `p += 4; ${v} = null;`],
};
