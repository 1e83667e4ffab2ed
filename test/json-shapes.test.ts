import t, { type Test } from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { JsonShapes } from '../lib/shared/json-shapes.js';
import { LineBatcher } from '../lib/shared/ndjson-lines.js';
import type { DecodingBuffer } from '../lib/shared/codec/buffer-slices.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import { prng } from './helpers/prng.js';

/**
 * The parser of learned shapes must give exactly what JSON.parse gives (key order, -0, numbers, strings,
 * a plain prototype) or decline: compared with JSON.parse on generated lines and on every kind of
 * damage to them.
 */

const bytes = (text: string) => Buffer.from(text) as DecodingBuffer;
const isAscii = (b: Buffer) => b.every((c) => c < 0x80);

/** JSON.parse's value, or 'throws'. */
function reference(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return 'throws';
  }
}

/** The shapes' value for `text`, checked against JSON.parse: equal, or declined (undefined). Returns whether it was taken. */
function check(t: Test, shapes: JsonShapes, text: string): boolean {
  const b = bytes(text);
  const got = shapes.parse(b, 0, b.length, !isAscii(b));
  if (got === undefined) return false;
  // As the bytes hold it (a damaged line may have split a character: its bytes have U+FFFD there).
  const want = reference(b.toString('utf8'));
  if (!isDeepStrictEqual(got, want) || JSON.stringify(got) !== JSON.stringify(want) || !samePrototypes(got, want)) {
    t.fail(`differs from JSON.parse: ${text}`, { got, want });
  }
  return true;
}

function samePrototypes(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null) return true;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  return Object.keys(a).every((k) => samePrototypes((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const NUMBERS = ['0', '-0', '7', '-12', '1767225599201', '999999999999999', '1000000000000000', '12345678901234567890', '-9007199254740993',
  '1.5', '-0.25', '0.1', '3.14159265358979323846', '1e3', '1E-7', '2.5e+10', '-1e400', '1e-400', '0.0', '5e0'];
const STRINGS = ['', 'Apple', 'https://www.nexmark.com/apple/item.htm?query=1', 'with "quote"', 'back\\slash', 'tab\there', 'line\nbreak',
  'café 😀 Ω', 'ключ', '\u007f', '\u2028', '{"nested":1}', ',"k":', '}'];

function randomValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (r < 0.35) return Number(NUMBERS[Math.floor(rand() * NUMBERS.length)]);
  if (r < 0.65) return STRINGS[Math.floor(rand() * STRINGS.length)];
  if (r < 0.72) return rand() < 0.5;
  if (r < 0.77) return null;
  if (r < 0.82) return [1, 'two'];
  if (depth < 3) return randomObject(rand, depth + 1);
  return 1;
}

const KEYS = ['kind', 'bid', 'auction', 'price', 'dateTime', 'extra', 'a b', '1', '__proto__', 'ключ', 'q"uote', 'k', ''];

function randomObject(rand: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    const key = KEYS[Math.floor(rand() * KEYS.length)];
    Object.defineProperty(o, key, { value: randomValue(rand, depth), enumerable: true, writable: true, configurable: true });
  }
  return o;
}

/** JSON with a space after each comma and colon (as Python's json.dumps writes it), or a tab. */
function spaced(value: unknown, gap: string): string {
  if (Array.isArray(value)) return `[${value.map((v) => spaced(v, gap)).join(`,${gap}`)}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${gap}${spaced(v, gap)}`).join(`,${gap}`)}}`;
  }
  return JSON.stringify(value);
}

/** A line's text with one kind of damage (most of it breaks the JSON, some of it keeps it valid in another form). */
function damaged(text: string, rand: () => number): string {
  const at = Math.floor(rand() * (text.length + 1));
  switch (Math.floor(rand() * 7)) {
    case 0: return text.slice(0, at);
    case 1: return text.slice(0, at) + text.slice(at + 1);
    case 2: return text.slice(0, at) + ' ' + text.slice(at);
    case 3: return text.slice(0, at) + '",:{}[]0-.eE\\x'[Math.floor(rand() * 14)] + text.slice(at);
    case 4: return text.slice(0, at) + '0' + text.slice(at);
    case 5: return text + text.slice(0, at);
    default: return text.replace(/\d/g, (d) => (rand() < 0.1 ? '0' + d : d));
  }
}

t.test('what it takes equals JSON.parse, for random objects of repeated shapes and every kind of damage', async (t) => {
  const rand = prng(20261127);
  let taken = 0;
  let lines = 0;
  for (let round = 0; round < 40; round++) {
    const shapes = new JsonShapes();
    const templates = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => randomObject(rand, 0));
    for (let i = 0; i < 500; i++) {
      // Same keys and kinds as a template, other values of those kinds.
      const template = templates[Math.floor(rand() * templates.length)];
      const compact = JSON.stringify(template, (_k, v: unknown) => (typeof v === 'number' && rand() < 0.5 ? Number(NUMBERS[Math.floor(rand() * 9)]) : v));
      const form = rand();
      const text = form < 0.7 ? compact : spaced(JSON.parse(compact), form < 0.9 ? ' ' : '\t');
      const value = reference(text);
      if (check(t, shapes, text)) taken++;
      else if (value !== 'throws') shapes.learn(value);
      lines++;
      const broken = damaged(text, rand);
      if (check(t, shapes, broken)) taken++;
      lines++;
    }
  }
  t.ok(taken > lines / 4, `took ${taken} of ${lines} lines (the rest declined)`);
});

t.test('numbers: every form in JSON\'s grammar as JSON.parse reads it, every other form declined', async (t) => {
  const shapes = new JsonShapes();
  shapes.learn({ n: 1 });
  for (const n of [...NUMBERS, '00', '01', '-', '+1', '1.', '.5', '1e', '1e+', '0x10', 'Infinity', 'NaN', '1_000', '١']) {
    const text = `{"n":${n}}`;
    const took = check(t, shapes, text);
    t.equal(took, reference(text) !== 'throws', `${n}: ${took ? 'taken' : 'declined'}`);
  }
  const b = bytes('{"n":-0}');
  t.ok(Object.is((shapes.parse(b, 0, b.length, false) as { n: number }).n, -0), '-0 stays -0');
});

t.test('strings: without escapes or control characters taken (UTF-8 too), others declined', async (t) => {
  const shapes = new JsonShapes();
  shapes.learn({ s: '' });
  t.ok(check(t, shapes, '{"s":"café 😀"}'), 'UTF-8 taken');
  t.ok(check(t, shapes, '{"s":""}'), 'empty taken');
  t.notOk(check(t, shapes, '{"s":"a\\"b"}'), 'an escape declined');
  t.notOk(check(t, shapes, '{"s":"a\tb"}'), 'a raw tab declined (JSON.parse refuses it)');
  t.notOk(check(t, shapes, '{"s":"abc'), 'unterminated declined');
  t.notOk(check(t, shapes, '{"s":1}'), 'another kind declined');
});

t.test('shapes it cannot build as JSON.parse does, or too large, are not learned', async (t) => {
  const shapes = new JsonShapes();
  const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, Object.fromEntries(Array.from({ length: 17 }, (_, j) => [`f${j}`, j]))])));
  for (const text of ['{"__proto__":{"x":1}}', '{"a":{"__proto__":null}}', '{"q\\"k":1}', '{"ключ":1}', '{"a":[1,2]}', '{"b":1,"1":2}', '{"1":2,"b":1}', wide]) {
    shapes.learn(JSON.parse(text));
    t.notOk(check(t, shapes, text), `${text} declined`);
  }
  const proto = shapes.parse(bytes('{"__proto__":{"x":1}}'), 0, 21, false);
  t.equal(proto, undefined);
});

t.test('keys: another order, a duplicate or a different key are declined; spaces and tabs between tokens are JSON', async (t) => {
  const shapes = new JsonShapes();
  shapes.learn({ a: 1, b: 'x', c: { d: null } });
  t.ok(check(t, shapes, '{"a":2,"b":"y","c":{"d":null}}'));
  for (const text of ['{ "a": 2, "b": "y", "c": { "d": null } }', ' {"a":2 ,\t"b" :"y","c":{"d":null}}\t', '{"a":-0.5e-3,"b":"","c":{ }}'.replace('{ }', '{"d":null}')]) {
    t.ok(check(t, shapes, text), `${JSON.stringify(text)} taken`);
  }
  for (const text of ['{"b":"y","a":2,"c":{"d":null}}', '{"a":1,"a":2,"b":"y","c":{"d":null}}', '{"a":1,"c":"y","b":{"d":null}}', '{"a":1,"b":"y","c":{"d":null}}x',
    '{"a":1,"b":"y"}', '{"a":1,"b":"y","c":{"d":null}}\r', '{"a":1,"b":"y","c":{"d":null}}\u00a0', '{"a":- 1,"b":"y","c":{"d":null}}', '{"a":1 2,"b":"y","c":{"d":null}}']) {
    t.notOk(check(t, shapes, text), `${JSON.stringify(text)} declined`);
  }
  const b = bytes('{"a":1,"b":"y","c":{"d":null}}\n{"a":2,"b":"z","c":{"d":null}}');
  t.same(shapes.parse(b, 0, 30, false), { a: 1, b: 'y', c: { d: null } }, 'a line ends where it is told to');
  t.equal(shapes.parse(b, 0, 29, false), undefined, 'and not before');
});

t.test('the NDJSON reader gives the same events, line numbers and bad lines with shapes learned', async (t) => {
  const gen = new NexmarkGenerator({ seed: 3 });
  const good = Array.from({ length: 300 }, () => JSON.stringify(gen.next()));
  const lines = [...good];
  lines.splice(50, 0, good[10].slice(0, -1));            // a broken line of a learned shape
  lines.splice(80, 0, good[11].replace(':', ': '));       // valid, with a space
  lines.splice(120, 0, '');                               // blank
  lines.splice(200, 0, good[12] + '\r');                  // CRLF
  lines.splice(250, 0, good[13].replace('"', '"\\u006b')); // a key with an escape
  const text = lines.join('\n');
  const want = lines.map((l, i) => ({ l, line: i + 1, v: reference(l.trim()) })).filter((x) => x.l.trim() !== '');
  const batcher = new LineBatcher(64);
  const batches = [...batcher.add(Buffer.from(text), text.length), batcher.flush(text.length)];
  t.same(batches.flatMap((b) => b.events), want.filter((x) => x.v !== 'throws').map((x) => x.v), 'events as JSON.parse gives them');
  t.same(batches.flatMap((b) => b.lines), want.filter((x) => x.v !== 'throws').map((x) => x.line), 'line numbers');
  t.same(batches.flatMap((b) => b.bad.map((x) => x.line)), [51], 'the broken line reported by its number');
});
