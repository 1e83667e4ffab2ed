import t from 'tap';
import { crc32c } from '../lib/shared/durability/crc32c.js';

t.test('CRC32C gives the standard check value, whatever kind of byte array holds the bytes', async (t) => {
  const text = Buffer.from('123456789');
  t.equal(crc32c(text), 0xe3069283, 'the check value of "123456789"');
  const shared = new Uint8Array(new SharedArrayBuffer(32));
  shared.set(text, 7);
  const kinds: Array<[string, Uint8Array]> = [
    ['a Buffer', text],
    ['a Uint8Array', new Uint8Array(text)],
    ['a view into a larger array', Uint8Array.from([...Buffer.from('xyz'), ...text]).subarray(3, 12)],
    ['a view of shared memory (a ring)', shared.subarray(7, 16)],
    ['a Buffer slice at an offset', Buffer.from('ab123456789cd').subarray(2, 11)],
  ];
  for (const [kind, bytes] of kinds) t.equal(crc32c(bytes), 0xe3069283, kind);
  t.equal(crc32c(new Uint8Array(0)), 0, 'no bytes');
});
