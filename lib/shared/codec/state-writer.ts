/**
 * State as CBOR, for snapshots and the LMDB backend: the bytes cbor-x's state encoder (cbor.ts) writes, for the
 * values state is mostly made of (numbers, strings, booleans, null, undefined, arrays, plain objects),
 * written here; any other value (a Map, a Date, a typed array, a bigint, …) is handed to cbor-x whole.
 *
 * Why not cbor-x for all of it: its encoder is one large recursive function with loops inside. On Node 20
 * (V8 11.3), once V8 has compiled that function for a loop still running (on-stack replacement, after a
 * deoptimization mid-snapshot), the function's ordinary calls were not optimized again: it ran interpreted
 * for the rest of the thread's life, 6–7× slower. It happened in about six runs out of ten, at random: a
 * q9 snapshot's key-groups (31.5 MB) took 1.0 s instead of 0.15 s. Here the function called for every value
 * has no loop; arrays and objects of up to UNROLLED items are written without one either, and a longer
 * one's loop, if replaced on the stack, is entered from its few interpreted instructions.
 */
import { ARRAY, MAP, NEGINT, TEXT, UINT, writeHeader } from './cbor-header.js';
import { stateEncoder } from './cbor.js';

const cbor = stateEncoder();

/** Arrays and objects up to this many items are written item by item, without a loop. */
const UNROLLED = 8;
/**
 * cbor-x writes strings shorter than this by char codes, a lone surrogate as three bytes (Buffer writes U+FFFD):
 * such a string goes to cbor-x, an ASCII one is written by char codes here.
 */
const BY_CHAR = 0x40;
/** Object keys whose bytes are kept, at most (cleared when full). */
const KEYS_KEPT = 4096;

/** String.prototype.isWellFormed (Node 20), not in the TypeScript library this project targets. */
type WellFormed = string & { isWellFormed(): boolean };

/**
 * A key in a key-group's snapshot: its `data`, until a StateWriter has written it; from then on where its
 * bytes are in that snapshot (`in`, from `start` to `end`), which the next snapshot copies. Its key's state
 * keeps it (Snapshotted) until its store lets it go: the key was got or set since.
 */
export class KeySlot {
  in: Buffer | undefined = undefined;
  start = 0;
  end = 0;
  constructor(public data: unknown) {}
}

/** A key's state that keeps its KeySlot: one field of the state object itself, set when it is made. */
export interface Snapshotted {
  snap: KeySlot | undefined;
}

/** What a SelfWriting writes with: values, and the headers of arrays whose items it writes one by one. */
export interface StateOut {
  value(v: unknown): void;
  arrayHeader(n: number): void;
}

/**
 * A value that writes itself: the bytes of some plain value (its `writeTo` says which) without that value
 * being made first, for state read in place (a key's Maps as arrays of entries, copied only to be
 * encoded, were most of a snapshot's garbage). It must be encoded at once: it reads state that goes on
 * changing. cbor-x would write it as an object of its fields.
 */
export abstract class SelfWriting {
  abstract writeTo(out: StateOut): void;
}

export class StateWriter implements StateOut {
  private buf = Buffer.allocUnsafe(1 << 16);
  private at = 0;
  private readonly keys = new Map<string, Buffer>();
  /** The KeySlots of the value being encoded: slot, start, end, … */
  private readonly slots: Array<KeySlot | number> = [];

  /** `value` as CBOR, in a buffer of its own; each KeySlot in it then holds where it is in that buffer. */
  encode(value: unknown): Buffer {
    this.at = 0;
    // Emptied here, not after: an encoding that threw (a function in state) leaves its slots behind.
    this.slots.length = 0;
    this.value(value);
    const out = Buffer.from(this.buf.subarray(0, this.at));
    const slots = this.slots;
    for (let i = 0; i < slots.length; i += 3) {
      const slot = slots[i] as KeySlot;
      slot.in = out;
      slot.start = slots[i + 1] as number;
      slot.end = slots[i + 2] as number;
      slot.data = undefined;
    }
    return out;
  }

  /** Any value; public for a SelfWriting, which encode() hands this writer to. */
  value(v: unknown): void {
    switch (typeof v) {
      case 'number': return this.number(v);
      case 'string': return this.string(v);
      case 'boolean': return this.byte(v ? 0xf5 : 0xf4);
      case 'undefined': return this.byte(0xf7);
      case 'object':
        if (v === null) return this.byte(0xf6);
        if (v.constructor === Array) return this.array(v as unknown[]);
        if (v.constructor === Object) return this.object(v as Record<string, unknown>);
        if (v instanceof KeySlot) return this.slot(v);
        if (v instanceof SelfWriting) return v.writeTo(this);
    }
    this.bytes(cbor.encode(v));
  }

  /** The header of an array of `n` items (for a SelfWriting, which writes its items next). */
  arrayHeader(n: number): void {
    this.header(ARRAY, n);
  }

  private slot(s: KeySlot): void {
    const start = this.at;
    if (s.in !== undefined) {
      this.room(s.end - s.start);
      this.at += s.in.copy(this.buf, this.at, s.start, s.end);
    } else {
      this.value(s.data);
    }
    this.slots.push(s, start, this.at);
  }

  /** As cbor-x: an integer of up to 32 bits as a CBOR integer, any other number as a float64. */
  private number(n: number): void {
    if (n >>> 0 === n) return this.header(UINT, n);
    if (n >> 0 === n || (n < 0 && n >= -0x100000000 && Math.floor(n) === n)) return this.header(NEGINT, -1 - n);
    this.room(9);
    this.buf[this.at] = 0xfb;
    this.buf.writeDoubleBE(n, this.at + 1);
    this.at += 9;
  }

  private string(s: string): void {
    if (s.length < BY_CHAR && !(s as WellFormed).isWellFormed()) return this.bytes(cbor.encode(s));
    const length = Buffer.byteLength(s);
    this.header(TEXT, length);
    this.room(length);
    if (length === s.length && length < BY_CHAR) {
      writeAscii(this.buf, this.at, s);
    } else {
      this.buf.write(s, this.at, length, 'utf8');
    }
    this.at += length;
  }

  private array(a: unknown[]): void {
    const n = a.length;
    this.header(ARRAY, n);
    if (n > UNROLLED) {
      for (let i = 0; i < n; i++) this.value(a[i]);
      return;
    }
    // Without a loop (see above).
    if (n > 0) this.value(a[0]);
    if (n > 1) this.value(a[1]);
    if (n > 2) this.value(a[2]);
    if (n > 3) this.value(a[3]);
    if (n > 4) this.value(a[4]);
    if (n > 5) this.value(a[5]);
    if (n > 6) this.value(a[6]);
    if (n > 7) this.value(a[7]);
  }

  /** As cbor-x with variableMapSize: Object.keys order, each key a string. */
  private object(o: Record<string, unknown>): void {
    const keys = Object.keys(o);
    const n = keys.length;
    this.header(MAP, n);
    if (n > UNROLLED) {
      for (let i = 0; i < n; i++) this.entry(o, keys[i]);
      return;
    }
    if (n > 0) this.entry(o, keys[0]);
    if (n > 1) this.entry(o, keys[1]);
    if (n > 2) this.entry(o, keys[2]);
    if (n > 3) this.entry(o, keys[3]);
    if (n > 4) this.entry(o, keys[4]);
    if (n > 5) this.entry(o, keys[5]);
    if (n > 6) this.entry(o, keys[6]);
    if (n > 7) this.entry(o, keys[7]);
  }

  /** A key and its value; a key's bytes are kept, as the same few keys come again and again. */
  private entry(o: Record<string, unknown>, key: string): void {
    let bytes = this.keys.get(key);
    if (bytes === undefined) {
      if (this.keys.size >= KEYS_KEPT) this.keys.clear();
      const start = this.at;
      this.string(key);
      bytes = Buffer.from(this.buf.subarray(start, this.at));
      this.keys.set(key, bytes);
    } else {
      this.bytes(bytes);
    }
    this.value(o[key]);
  }

  private header(major: number, n: number): void {
    this.room(5);
    this.at = writeHeader(this.buf, this.at, major, n);
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  private bytes(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}

/** A short ASCII string by char codes (faster than a call into Buffer's native write); its loop kept out of StateWriter.string. */
function writeAscii(buf: Buffer, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
}
