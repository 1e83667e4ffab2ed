/**
 * A key-group's snapshot is written by StateWriter, not by cbor-x: the same bytes cbor-x's state encoder
 * writes, for every kind of value state holds, and they read back as they were.
 */
import t from 'tap';
import { stateDecoder, stateEncoder } from '../lib/shared/codec/cbor.js';
import { StateWriter } from '../lib/shared/codec/state-writer.js';
import { fromData, newKeyState, toData, type KeyState, type KeyStateData } from '../lib/actor-thread/process/key-state.js';
import { KeyedStore } from '../lib/actor-thread/state/keyed-store.js';
import { prng } from './helpers/prng.js';

const cbor = stateEncoder();
const decoder = stateDecoder();

/** Numbers at and around every width of a CBOR integer, and what cbor-x writes as a float. */
const NUMBERS = [0, -0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -24, -25, -256, -257,
  -65_536, -65_537, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 32), -(2 ** 32) - 1, -(2 ** 53), 0.5, -1.25, 1e300, 1_767_225_600_000.5,
  1_767_225_600_000, NaN, Infinity, -Infinity];
/** ASCII and not, shorter and longer than the 64 characters cbor-x writes by char code, lone surrogates on both sides of it. */
const STRINGS = ['', 'a', 'channel-7', 'é', 'ünïcödé ✓', '😀 emoji', '\ud800', 'lone \udc00 low', 'x'.repeat(23), 'y'.repeat(24),
  'z'.repeat(63), 'z'.repeat(64), 'é'.repeat(200), '\ud800'.repeat(70), 'w'.repeat(70_000)];

/** The strings above that cbor-x reads back as they were (no lone surrogate), short ones. */
const READABLE = STRINGS.filter((x) => x.length < 1_000 && !/\ud800|\udc00/.test(x));

/**
 * A random value of state. `exotic`: with what cbor-x itself does not read back as it was (an object without a
 * prototype reads back as a plain one, a lone surrogate as U+FFFD).
 */
function randomValue(rand: () => number, depth: number, exotic = true): unknown {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const kind = Math.floor(rand() * (depth > 3 ? 4 : 9));
  switch (kind) {
    case 0: return pick(NUMBERS);
    case 1: return pick(exotic ? STRINGS.slice(0, -1) : READABLE);
    case 2: return pick([true, false, null, undefined]);
    case 3: return Math.floor((rand() - 0.5) * 2 ** (1 + Math.floor(rand() * 60)));
    case 4:
    case 5: return Array.from({ length: pick(depth === 0 ? [0, 3, 9, 300] : [0, 1, 2, 3, 7, 8, 9, 24]) }, () => randomValue(rand, depth + 1, exotic));
    case 6: return Object.fromEntries(Array.from({ length: pick([0, 1, 4, 8, 9, 30]) }, (_, i) => [pick(['id', 'price', 'é', `k${i}`, String(i)]), randomValue(rand, depth + 1, exotic)]));
    case 7: return pick([new Map<unknown, unknown>([[1, 'a'], ['b', { c: [1, 2] }]]), new Set([1, 'x']), new Date(1_767_225_600_000), Uint8Array.of(1, 2, 3), 2n ** 70n, -5n]);
    default: return !exotic ? [depth] : Object.assign(Object.create(null) as object, { bare: depth });
  }
}

t.test('the bytes cbor-x writes, for numbers and strings at every width', async (t) => {
  const writer = new StateWriter();
  for (const v of [...NUMBERS, ...STRINGS]) t.same(Buffer.from(writer.encode(v)), Buffer.from(cbor.encode(v)), `${typeof v} ${String(v).slice(0, 24)}`);
});

t.test('the bytes cbor-x writes, for 2,000 random values nested in arrays and objects', async (t) => {
  const rand = prng(7);
  const writer = new StateWriter();
  const differ: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const value = randomValue(rand, 0);
    if (Buffer.compare(writer.encode(value), cbor.encode(value)) !== 0) differ.push(i);
  }
  t.same(differ, [], 'every value the same bytes');
});

t.test('what it cannot write (a function), it fails on as cbor-x does', async (t) => {
  t.throws(() => new StateWriter().encode({ f: () => 1 }), 'a function in state is refused');
  t.throws(() => cbor.encode({ f: () => 1 }));
});

t.test('state reads back as it was', async (t) => {
  const rand = prng(11);
  const values = Array.from({ length: 50 }, () => randomValue(rand, 0, false));
  t.same(decoder.decode(new StateWriter().encode(values)), values);
});

t.test('each encoding is a buffer of its own, not a view of the next', async (t) => {
  const writer = new StateWriter();
  const first = writer.encode(['first', 1]);
  const copy = Buffer.from(first);
  writer.encode(['second, longer', 2, 3]);
  t.same(Buffer.from(first), copy, 'the first bytes are unchanged by the second encoding');
});

/**
 * A random key's state of a process function: values, maps and lists by name, some of its maps and lists
 * emptied (as deleting every entry leaves them until the call ends), or no state of a kind at all.
 * `exotic`: with values cbor-x does not read back as they were (see randomValue).
 */
function randomKeyState(rand: () => number, exotic: boolean): KeyState {
  const s = newKeyState(randomValue(rand, 2, exotic));
  const names = (n: number) => Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `n${i}` : `state-${i}`));
  const count = () => [0, 0, 1, 2, 5, 30][Math.floor(rand() * 6)];
  const values = names(count()).map((name): [string, unknown] => [name, randomValue(rand, 1, exotic)]);
  const maps = names(count()).map((name): [string, Map<unknown, unknown>] => [name, new Map(Array.from({ length: count() }, () => [randomValue(rand, 2, exotic), randomValue(rand, 1, exotic)]))]);
  const lists = names(count()).map((name): [string, unknown[]] => [name, Array.from({ length: count() }, () => randomValue(rand, 1, exotic))]);
  if (values.length > 0) s.values = new Map(values);
  if (maps.length > 0) s.maps = new Map(maps);
  if (lists.length > 0) s.lists = new Map(lists);
  return s;
}

/** A key's state as the arrays it is written as, empty maps and lists left out. */
const asArrays = (s: KeyState): KeyStateData => [s.key, [...s.values],
  [...s.maps].filter(([, m]) => m.size > 0).map(([n, m]) => [n, [...m]]),
  [...s.lists].filter(([, l]) => l.length > 0)];
const stored = (data: KeyStateData) => data[1].length + data[2].length + data[3].length > 0;

t.test('a key\'s state written in place: the bytes cbor-x writes for it as arrays', async (t) => {
  const rand = prng(13);
  const writer = new StateWriter();
  let differ = 0;
  let empty = 0;
  for (let i = 0; i < 500; i++) {
    const s = randomKeyState(rand, i % 2 === 0);
    const written = toData(s, -Infinity);
    if (!stored(asArrays(s))) {
      empty++;
      t.equal(written, null, 'a key with nothing stored has no data');
    } else if (Buffer.compare(writer.encode(written), cbor.encode(asArrays(s))) !== 0) {
      differ++;
    }
  }
  t.equal(differ, 0, 'every key\'s bytes as cbor-x writes its data');
  t.ok(empty > 0 && empty < 500, `some keys (${empty}) had nothing stored`);
});

t.test('a key-group of such keys, as a snapshot writes it: read back, and again from the bytes it kept', async (t) => {
  const rand = prng(17);
  const store = new KeyedStore<KeyState>(1);
  const states = Array.from({ length: 200 }, (_, i) => {
    const s = randomKeyState(rand, false);
    s.key = `k${i}`;
    store.set(0, `k${i}`, s);
    return s;
  });
  const expected = { keys: states.map(asArrays).filter(stored) };
  const writer = new StateWriter();
  const snapshot = () => writer.encode({ keys: store.snapshot(0, (s) => toData(s, -Infinity), true) });
  const first = snapshot();
  t.same(first, cbor.encode(expected), 'the bytes cbor-x writes for the keys as arrays');
  t.same((decoder.decode(first) as typeof expected).keys.map(fromData), expected.keys.map(fromData), 'the keys read back as they were');
  t.same(snapshot(), first, 'the next snapshot, from the bytes each idle key kept, is the same');
});
