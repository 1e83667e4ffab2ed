import t from 'tap';
import { actorOf, hashKey, hashString, keyGroupOf, keyGroupRange, stateKeyOf } from '../lib/shared/keygroups.js';

t.test('MurmurHash3 x86_32 matches the reference vectors', async (t) => {
  // Reference values of MurmurHash3_x86_32 over the UTF-16LE bytes of each string, seed 0
  // (two code units form one little-endian 32-bit block).
  t.equal(hashString(''), 0);
  const utf16 = (s: string) => Buffer.from(s, 'utf16le');
  t.equal(hashString('ab'), murmurBytes(utf16('ab')));
  t.equal(hashString('hello world'), murmurBytes(utf16('hello world')));
  t.equal(hashString('auction-42'), murmurBytes(utf16('auction-42')));
  t.equal(murmurBytes(Buffer.from('hello')), 0x248bfa47, 'the byte-level implementation matches the published vector for "hello"');
});

t.test('key-groups are stable: the same key always lands in the same group', async (t) => {
  // Pinned values: state on disk is laid out by key-group, so these must never change.
  t.same([1, 2, 3, 1000, 'a', 'b', 'auction-42', 12345].map((k) => keyGroupOf(k, 128)), [60, 6, 41, 20, 26, 7, 80, 24]);
  // Small integers hash as MurmurHash3 of their 4-byte little-endian form.
  const int32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
  for (const n of [0, 1, 12345, -7, 2 ** 31 - 1]) t.equal(hashKey(n), murmurBytes(int32(n), 0x9747b28c), `integer ${n}`);
  t.equal(hashKey('12345'), hashString('12345'), 'string keys hash their characters, not their numeric value');
});

t.test('keys spread evenly over key-groups', async (t) => {
  const counts = new Array(128).fill(0);
  for (let i = 0; i < 128_000; i++) counts[keyGroupOf(i % 2 ? i : `user-${i}`, 128)]++;
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  t.ok(min > 800 && max < 1200, `each group holds 1000 ± 20% keys (min ${min}, max ${max})`);
});

t.test('every key-group has exactly one owner, in contiguous ranges', async (t) => {
  for (const [workers, groups] of [[1, 128], [2, 128], [3, 128], [4, 128], [7, 100], [128, 128]]) {
    let expectedStart = 0;
    for (let a = 0; a < workers; a++) {
      const r = keyGroupRange(a, workers, groups);
      t.equal(r.start, expectedStart, `${workers} workers: actor ${a} starts where the previous ended`);
      for (let kg = r.start; kg <= r.end; kg++) if (actorOf(kg, workers, groups) !== a) t.fail(`group ${kg} owned by ${actorOf(kg, workers, groups)}, not ${a}`);
      expectedStart = r.end + 1;
    }
    t.equal(expectedStart, groups, `${workers} workers cover all ${groups} groups`);
  }
});

t.test('state keys: primitives as themselves, composites as canonical JSON', async (t) => {
  t.equal(stateKeyOf('a'), 'a');
  t.equal(stateKeyOf(7), 7);
  t.equal(stateKeyOf(['a', 1]), '["a",1]');
  t.equal(keyGroupOf(stateKeyOf(['a', 1]), 128), keyGroupOf('["a",1]', 128));
});

/** An independent byte-oriented MurmurHash3_x86_32 (the published algorithm), to check ours against. */
function murmurBytes(data: Buffer, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = Math.floor(data.length / 4);
  for (let i = 0; i < blocks; i++) {
    let k = data.readUInt32LE(i * 4);
    k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2);
    h ^= k; h = (h << 13) | (h >>> 19); h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const tail = blocks * 4;
  const rem = data.length & 3;
  if (rem >= 3) k ^= data[tail + 2] << 16;
  if (rem >= 2) k ^= data[tail + 1] << 8;
  if (rem >= 1) { k ^= data[tail]; k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2); h ^= k; }
  h ^= data.length;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}

t.test('keys other than strings and small integers hash their canonical string form', async (t) => {
  for (const [key, form] of [[1.5, 'number:1.5'], [2 ** 31, 'number:2147483648'], [-0.25, 'number:-0.25'], [true, 'boolean:true'], [12n, 'bigint:12']] as const) {
    t.equal(hashKey(key), hashString(form), `${String(key)} as ${form}`);
  }
  t.not(hashKey(1.5), hashKey(1), 'a fraction is not hashed as its integer part');
});
