import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Decoder, Encoder } from '../lib/shared/codec/cbor.js';
import t from 'tap';
import { FrameBuilder, FrameView } from '../lib/shared/codec/frame.js';
import { FRAME_BEFORE_ARRAYS, keysBeforeArrays, valuesBeforeArrays } from './fixtures/frame-before-arrays.js';

/** Frames carry keys and values by column (value-columns.ts); these tests hold the round trip to exactness. */

/** keys and values through a frame, decoded from an 8-aligned copy as the ring reader provides. */
function roundTrip(keys: unknown[], values: unknown[]): { keys: unknown[]; values: unknown[] } {
  const b = new FrameBuilder(Math.max(1, values.length));
  values.forEach((v, i) => b.event(0, 0, 0, i, 0, i, keys[i], v));
  const f = new FrameView().decode(new Uint8Array(b.encode()));
  return { keys: f.keys, values: f.values };
}

/** A value as text that tells apart what equality checks blur: -0, NaN, undefined, key order, prototypes. */
function canon(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined || v === null || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v instanceof Date) return `Date(${v.getTime()})`;
  if (v instanceof Map) return `Map(${[...v].map(([k, x]) => `${canon(k)}=>${canon(x)}`).join(',')})`;
  if (v instanceof Uint8Array) return `bytes(${[...v].join(',')})`;
  const proto: unknown = Object.getPrototypeOf(v);
  const kind = proto === Object.prototype ? '' : proto === null ? 'null-proto' : 'other-proto';
  return `${kind}{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Seeded, so a failure can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

const STRINGS = ['', 'a', 'twelve chars', 'thirteen char', 'https://www.nexmark.com/google/item.htm?query=1', 'päivää', '日本語のテキスト', '🦊 fox', 'x'.repeat(300), 'ab\u0000cd', '\r\n\t"\\'];
const NUMBERS = [0, 1, -1, 42, 2 ** 31, 2 ** 53 - 1, -(2 ** 53), 0.1, 1e300, -1e-300, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN, 1_700_000_000_123];
const KEYS = ['id', 'price', 'name', '1', '0', 'a b', 'ü', 'constructor', 'toString', ''];

/** A JSON-like value (plus undefined, NaN and the infinities), with a few recurring shapes as streams have. */
function value(rnd: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const r = rnd();
  if (depth > 12 || r < 0.3) return pick([pick(NUMBERS), pick(STRINGS), rnd() * 1e6, true, false, null, undefined]);
  if (r < 0.4) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(rnd, depth + 1));
  if (r < 0.8) {
    // A recurring shape: fields in one of a few orders.
    const shape = pick([['id', 'price', 'name'], ['name', 'id'], ['1', '0', 'a b'], []]);
    return Object.fromEntries(shape.map((k) => [k, value(rnd, depth + 1)]));
  }
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 5); i > 0; i--) o[pick(KEYS)] = value(rnd, depth + 1);
  return o;
}

t.test('any JSON-like value (and undefined, NaN, the infinities) decodes to exactly what was encoded', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const rnd = random(seed);
    const n = 1 + Math.floor(rnd() * 300);
    const keys = Array.from({ length: n }, () => value(rnd, 10));
    const values = Array.from({ length: n }, () => value(rnd, 0));
    const got = roundTrip(keys, values);
    t.equal(got.keys.map(canon).join('\n'), keys.map(canon).join('\n'), `keys, seed ${seed}`);
    t.equal(got.values.map(canon).join('\n'), values.map(canon).join('\n'), `values, seed ${seed}`);
  }
});

t.test('uniform columns of each kind, and objects sharing a shape, round-trip', async (t) => {
  const bids = Array.from({ length: 500 }, (_, i) => ({ auction: 1000 + (i % 7), bidder: i, price: i * 3.5, channel: STRINGS[i % STRINGS.length], url: `https://www.nexmark.com/item.htm?query=${i}`, dateTime: 1_700_000_000_000 + i, extra: '' }));
  for (const column of [NUMBERS, STRINGS, [true, true], [false], [null, null], [undefined, undefined], bids]) {
    const got = roundTrip(column, column);
    t.equal(got.values.map(canon).join('\n'), column.map(canon).join('\n'));
    t.equal(got.keys.map(canon).join('\n'), column.map(canon).join('\n'));
  }
  const decoded = roundTrip(bids, bids).values as typeof bids;
  t.not(decoded[0], bids[0], 'new objects');
  t.same(Object.keys(decoded[3]), Object.keys(bids[3]), 'fields in their order');
});

t.test('-0 decodes as 0, as it did through cbor-x (and does from snapshots)', async (t) => {
  const got = roundTrip([-0, 1], [-0, { x: -0 }]);
  t.ok(Object.is(got.keys[0], 0));
  t.ok(Object.is(got.values[0], 0));
  t.ok(Object.is((got.values[1] as { x: number }).x, 0));
  const floats = roundTrip([-0, 0.5], [0.25, -0]);
  t.ok(Object.is(floats.keys[0], 0) && Object.is(floats.values[1], 0), 'among numbers that are not int32s too');
});

t.test('a column of int32s that meets a number that is not one, at any place, is read back whole', async (t) => {
  const ints = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 7, -0, 123_456];
  for (const odd of [2 ** 31, -(2 ** 31) - 1, 0.5, NaN, Infinity, 1e300]) {
    for (let at = 0; at <= ints.length; at++) {
      const numbers = [...ints.slice(0, at), odd, ...ints.slice(at)];
      // As keys, as values, and as a field of objects of one shape (each its own column).
      const got = roundTrip(numbers, numbers.map((x) => ({ x })));
      const want = numbers.map((x) => (Object.is(x, -0) ? 0 : x));
      t.equal(canon(got.keys), canon(want), `${odd} at ${at}: keys`);
      t.equal(canon(got.values), canon(want.map((x) => ({ x }))), `${odd} at ${at}: a field`);
    }
  }
});

t.test('string columns that repeat a few values (written as a dictionary) round-trip, and take less room', async (t) => {
  const base = ['https://www.nexmark.com/google/item.htm?query=1', 'päivää', '', '日本語', '🦊', 'a', 'ab\u0000cd'];
  // Fresh strings each time (as JSON.parse makes them), not the same string objects over and over.
  const column = (n: number, distinct: number) => Array.from({ length: n }, (_, i) => `${base[i % distinct % base.length]}#${i % distinct}`.slice(0, 1 + (i % distinct) * 7));
  for (const [n, distinct] of [[32, 1], [64, 4], [1024, 8], [1024, 9], [1024, 256], [2048, 300], [100, 26], [1000, 250], [31, 2]]) {
    const strings = column(n, distinct);
    const got = roundTrip(strings, strings);
    t.equal(got.keys.map(canon).join('\n'), strings.map(canon).join('\n'), `${n} values, ${distinct} distinct: keys`);
    t.equal(got.values.map(canon).join('\n'), strings.map(canon).join('\n'), `${n} values, ${distinct} distinct: values`);
  }
  const bids = Array.from({ length: 1024 }, (_, i) => ({ auction: i, channel: ['Google', 'Apple', 'Baidu', 'Facebook'][i % 4], url: `https://www.nexmark.com/${['google', 'apple', 'baidu', 'facebook'][i % 4]}/item.htm?query=1`, extra: '' }));
  t.equal(roundTrip(bids, bids).values.map(canon).join('\n'), bids.map(canon).join('\n'), 'fields of objects');
  const size = (values: unknown[]) => {
    const b = new FrameBuilder(1024);
    values.forEach((v, i) => b.event(0, 0, 0, i, 0, i, i, v));
    return b.encode().length;
  };
  // The same bids with a URL of their own each (the same length): every URL written out.
  const own = size(bids.map((b, i) => ({ ...b, url: b.url.replace('query=1', `q=${String(i).padStart(4, '0')}`) })));
  const repeated = size(bids);
  t.ok(own - repeated > 1024 * 45, `1,024 bids with one of 4 URLs of about 45 characters: ${repeated} bytes, against ${own} with a URL each`);
});

t.test('a shape\'s fields come back right frame after frame, when their kinds and counts change and when the shape nests in itself', async (t) => {
  // One builder, as a thread has, so the encoder's arrays kept from frame to frame are reused.
  const b = new FrameBuilder(2048);
  const through = (values: unknown[]) => {
    values.forEach((v, i) => b.event(0, 0, 0, i, 0, i, i, v));
    const f = new FrameView().decode(new Uint8Array(b.encode()));
    b.reset();
    return f.values;
  };
  // A chain of objects of one shape (each level's `child` is the next): gathered while the level above is.
  const chain = (i: number, depth: number): unknown => ({ name: ['ann', 'bob', 'cy'][(i + depth) % 3], child: depth === 0 ? null : chain(i, depth - 1) });
  const frames: unknown[][] = [
    Array.from({ length: 1024 }, (_, i) => ({ a: i, b: ['x', 'y', 'z'][i % 3], c: `own ${i}` })),
    Array.from({ length: 3 }, (_, i) => ({ a: `now a string ${i}`, b: i * 0.5, c: null })),
    Array.from({ length: 2048 }, (_, i) => ({ a: i % 2 === 0 ? i : String(i), b: `v${i % 300}`, c: { a: i, b: 'in', c: i % 5 } })),
    Array.from({ length: 40 }, (_, i) => chain(i, 1 + (i % 6))),
    Array.from({ length: 5 }, (_, i) => ({ a: i, b: 'x', c: 'y' })),
  ];
  for (const [k, values] of frames.entries()) t.equal(through(values).map(canon).join('\n'), values.map(canon).join('\n'), `frame ${k}`);
});

t.test('objects used as dictionaries (keys that are data) round-trip, alone or among repeated shapes', async (t) => {
  const values = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? { [`user-${i}`]: i, [`other-${i % 7}`]: 'x' } : { id: i, name: `n${i}` }));
  const got = roundTrip(values, values).values;
  t.equal(got.map(canon).join('\n'), values.map(canon).join('\n'));
});

t.test('strings that are not well-formed UTF-16 decode with U+FFFD for each lone surrogate', async (t) => {
  const values = ['a\ud800b', '\udc00', 'ok'];
  t.same(roundTrip(values, values).values, ['a\ufffdb', '\ufffd', 'ok']);
});

const cbor = { encoder: new Encoder({ useRecords: true }), decoder: new Decoder({ useRecords: true, copyBuffers: true }) };
const throughCbor = (v: unknown) => cbor.decoder.decode(cbor.encoder.encode(v)) as unknown;

t.test('what is not a number, string or plain object decodes as cbor-x decodes it', async (t) => {
  class Point {
    constructor(readonly x: number, readonly y: number) {}
  }
  const nullProto = Object.assign(Object.create(null) as object, { a: 1 });
  const values: unknown[] = [new Date(1_700_000_000_000), new Map([['a', 1]]), new Uint8Array([1, 2, 3]), 12345678901234567890n, new Point(1, 2), nullProto,
    JSON.parse('{"__proto__": {"x": 1}, "b": 2}'), [1, { a: 'x' }], { nested: new Date(5) }];
  const got = roundTrip(values, values).values;
  values.forEach((v, i) => t.equal(canon(got[i]), canon(throughCbor(v)), canon(v)));
});

t.test('objects nested deeper than columns go, and more shapes than tags, still round-trip', async (t) => {
  let deep: Record<string, unknown> = { leaf: 'x' };
  for (let i = 0; i < 40; i++) deep = { level: i, inner: deep };
  const shapes = Array.from({ length: 600 }, (_, i) => ({ [`field${i}`]: i, common: 'c' }));
  const values = [deep, ...shapes, deep];
  const got = roundTrip(values, values).values;
  t.equal(got.map(canon).join('\n'), values.map(canon).join('\n'));
});

t.test('a value cbor-x cannot encode makes the frame throw, as before', async (t) => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  for (const bad of [() => 1, Symbol('s'), cyclic]) {
    const b = new FrameBuilder(2);
    b.event(0, 0, 0, 0, 0, 0, 'k', { ok: 1 });
    b.event(0, 0, 0, 0, 0, 1, 'k', { bad });
    t.throws(() => b.encode(), String(typeof bad));
  }
});

t.test('arrays go by column (a join\'s [input, event], lists in events) and decode as cbor-x decoded them', async (t) => {
  const person = (i: number) => ({ id: i, name: `p${i}`, state: ['OR', 'CA', 'ID'][i % 3] });
  const auction = (i: number) => ({ id: i, seller: i % 50, category: 10 + (i % 5) });
  const tagged = Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? [1, person(i)] : [0, auction(i)]));
  const lists = Array.from({ length: 300 }, (_, i) => ({ id: i, tags: Array.from({ length: i % 5 }, (_, k) => `t${k}`), nested: [[i], [], [i, [i, 'x']]] }));
  // eslint-disable-next-line no-sparse-arrays
  const odd: unknown[] = [[], [[]], [1, , 3], [undefined, null, -0, NaN], [[[[[[[[[[[['deep']]]]]]]]]]]], Array.from({ length: 1000 }, (_, i) => i)];
  for (const [name, values] of [['tagged events', tagged], ['lists inside objects', lists], ['empty, sparse, deep and long arrays', odd]] as const) {
    const got = roundTrip(values.map((_, i) => i), [...values]).values;
    t.equal(got.map(canon).join('\n'), values.map((v) => canon(throughCbor(v))).join('\n'), `${name}: as cbor-x decodes them`);
    t.ok(got.every((v) => Array.isArray(v) || typeof v === 'object'), `${name}: arrays and objects back`);
  }
  class List extends Array<number> {}
  const subclass = List.from([1, 2]);
  t.equal(canon(roundTrip([0], [subclass]).values[0]), canon(throughCbor(subclass)), 'an Array subclass goes through cbor-x, as before');
  const cyclic: unknown[] = [1];
  cyclic.push(cyclic);
  const b = new FrameBuilder(1);
  b.event(0, 0, 0, 0, 0, 0, 'k', cyclic);
  t.throws(() => b.encode(), 'an array that holds itself makes the frame throw, as before');
});

t.test('arrays too large to take apart (one that holds itself many times, a huge sparse one) go through cbor-x, as before', async (t) => {
  // Each level of an array that holds itself 16 times would be 16 times the one above if taken apart by
  // column: cbor-x meets the cycle at once and throws.
  const cyclic: unknown[] = [];
  for (let i = 0; i < 16; i++) cyclic.push(cyclic);
  const b = new FrameBuilder(3);
  b.event(0, 0, 0, 0, 0, 0, 'a', { deep: [] });
  b.event(0, 0, 0, 0, 0, 1, 'b', { deep: cyclic });
  b.event(0, 0, 0, 0, 0, 2, 'c', { deep: [] });
  const t0 = performance.now();
  t.throws(() => b.encode(), RangeError, 'the cycle throws, as cbor-x throws it');
  t.ok(performance.now() - t0 < 5_000, 'at once, not after filling memory');
  const sparse: unknown[] = [1];
  sparse[2_000_000] = 2;
  const got = roundTrip([0, 1], [[0, 'x'], sparse]).values as unknown[][];
  t.equal(got[1].length, 2_000_001, 'a sparse array keeps its length');
  t.same([got[1][0], got[1][1], got[1][2_000_000]], [1, undefined, 2]);
  t.same(got[0], [0, 'x'], 'and the column\'s other arrays round-trip with it');
});

t.test('a frame from before array columns, whose column held 248 shapes (tag 254 among them), is still read', async (t) => {
  const bytes = gunzipSync(Buffer.from(FRAME_BEFORE_ARRAYS, 'base64'));
  const f = new FrameView().decode(new Uint8Array(bytes));
  t.same(f.keys, keysBeforeArrays);
  t.equal(f.values.map(canon).join('\n'), valuesBeforeArrays.map(canon).join('\n'));
});

t.test('a frame from before value columns (a cbor body) is still read: write-ahead logs hold them', async (t) => {
  // u32 count | u32 body bytes | f64 ts | f64 wm | f64 pos | u16 kg | u16 src | u8 kind | u8 pipe | pad to 8 | cbor [keys, values]
  const body = cbor.encoder.encode([['k'], [{ a: 1, b: 'x' }]]);
  const frame = new Uint8Array(8 + 24 + 4 + 2 + 2 + body.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4, body.length, true);
  view.setFloat64(8, 123, true);
  view.setFloat64(16, 100, true);
  view.setFloat64(24, 7, true);
  view.setUint16(32, 5, true);
  view.setUint16(34, 2, true);
  frame[36] = 1;
  frame[37] = 3;
  frame.set(body, 40);
  const f = new FrameView().decode(frame);
  t.same({ ts: f.ts[0], wm: f.wm[0], pos: f.pos[0], kg: f.kg[0], src: f.src[0], kind: f.kind[0], pipe: f.pipe[0] }, { ts: 123, wm: 100, pos: 7, kg: 5, src: 2, kind: 1, pipe: 3 });
  t.same(f.keys, ['k']);
  t.same(f.values, [{ a: 1, b: 'x' }]);
});

t.test('without code generation (--disallow-code-generation-from-strings), frames still carry objects both ways', async (t) => {
  const values = Array.from({ length: 50 }, (_, i) => ({ id: i, name: `n${i}`, kind: ['x', 'y'][i % 2], nested: { ok: i % 2 === 0, tags: ['a'] } }));
  const builder = new FrameBuilder(values.length);
  values.forEach((v, i) => builder.event(0, 0, 0, i, 0, i, i, v));
  const written = Buffer.from(builder.encode()).toString('base64');
  const out = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', fileURLToPath(new URL('./fixtures/frames-without-codegen.js', import.meta.url)), JSON.stringify(values)],
    { input: written, encoding: 'utf8' });
  const { own, theirs } = JSON.parse(out) as { own: unknown[]; theirs: unknown[] };
  t.same(own, values, 'written and read there');
  t.same(theirs, values, 'written here (with compiled shapes), read there');
});
