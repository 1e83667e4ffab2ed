import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ndjsonBatches } from '../lib/calling-thread/sources/ndjson.js';
import type { NdjsonBatch } from '../lib/shared/ndjson-lines.js';
import { fixture } from './helpers/collect.js';
import { keyflow, parseLines } from './helpers/cli.js';
import { start } from './helpers/start.js';

const MODULE = fileURLToPath(fixture('bad-input'));

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

async function collect(input: AsyncIterable<Buffer>, batchSize?: number): Promise<NdjsonBatch[]> {
  const out: NdjsonBatch[] = [];
  for await (const b of ndjsonBatches(input, batchSize)) out.push(b);
  return out;
}

async function read(parts: Uint8Array[]) {
  const batches = await collect(chunks(...parts));
  return {
    events: batches.flatMap((b) => b.events),
    lines: batches.flatMap((b) => b.lines),
    bad: batches.flatMap((b) => b.bad),
  };
}

const MULTIBYTE = [
  { k: 'ключ', t: 1 },
  { k: '鍵🔑', t: 2 },
  { k: 'café 😀 Ω', t: 3 },
];
const MULTIBYTE_BYTES = Buffer.from(MULTIBYTE.map((e) => JSON.stringify(e)).join('\n') + '\n');

t.test('a character split between two chunks, at every byte offset, is read intact', async (t) => {
  for (let cut = 1; cut < MULTIBYTE_BYTES.length; cut++) {
    const r = await read([MULTIBYTE_BYTES.subarray(0, cut), MULTIBYTE_BYTES.subarray(cut)]);
    t.same(r.events, MULTIBYTE, `cut at byte ${cut}`);
    t.same(r.lines, [1, 2, 3]);
    t.same(r.bad, []);
  }
  const oneByteChunks = [...MULTIBYTE_BYTES].map((b) => Uint8Array.of(b));
  t.same((await read(oneByteChunks)).events, MULTIBYTE, 'one byte per chunk');
});

t.test('a UTF-8 byte order mark at the start is dropped', async (t) => {
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"k":"a","t":1}\r\n{"k":"b","t":2}\r\n')]);
  for (let cut = 1; cut < 6; cut++) {
    const r = await read([bytes.subarray(0, cut), bytes.subarray(cut)]);
    t.same(r.events, [{ k: 'a', t: 1 }, { k: 'b', t: 2 }], `cut at byte ${cut}`);
    t.same(r.bad, []);
  }
});

t.test('a line that is not UTF-8 is reported by line; the others are read', async (t) => {
  const bytes = Buffer.concat([
    Buffer.from('{"k":"ключ","t":1}\n{"k":"caf'),
    Buffer.from([0xe9]), // Latin-1 'é': not UTF-8
    Buffer.from('","t":2}\n{"k":"鍵","t":3}\n{"k":"x'),
    Buffer.from([0xf0, 0x9f, 0x94]), // a 4-byte character cut short
    Buffer.from('","t":4}\n'),
  ]);
  for (let cut = 1; cut < bytes.length; cut += 3) {
    const r = await read([bytes.subarray(0, cut), bytes.subarray(cut)]);
    t.same(r.events, [{ k: 'ключ', t: 1 }, { k: '鍵', t: 3 }], `cut at byte ${cut}`);
    t.same(r.lines, [1, 3]);
    t.match(r.bad, [
      { line: 2, code: 'ERR_KEYFLOW_BAD_ENCODING', detail: /^not valid UTF-8 at byte 10 of the line \(e9 22 2c 22;/, raw: '{"k":"caf\ufffd","t":2}' },
      { line: 4, code: 'ERR_KEYFLOW_BAD_ENCODING', detail: /^not valid UTF-8 at byte 8 of the line \(f0 9f 94 22;/ },
    ]);
    t.equal(r.bad.length, 2);
  }
});

t.test('batches of batchSize lines, and one at the end of every chunk, with bytes read so far', async (t) => {
  const text = Array.from({ length: 10 }, (_, i) => `{"i":${i}}`).join('\n') + '\n';
  const bytes = Buffer.from(text);
  const whole = await collect(chunks(bytes), 4);
  t.same(whole.map((b) => b.lines), [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]);
  t.same(whole.map((b) => b.bytes), [bytes.length, bytes.length, bytes.length]);
  const half = text.indexOf('{"i":5}') + 3;
  const split = await collect(chunks(bytes.subarray(0, half), bytes.subarray(half)), 4);
  t.same(split.map((b) => b.lines), [[1, 2, 3, 4], [5], [6, 7, 8, 9], [10]]);
  t.same(split.map((b) => b.bytes), [half, half, bytes.length, bytes.length]);
});

const KEYS = ['ключ', 'Schlüssel', '鍵', '키', '🔑', 'κλειδί', '🗝️ ключ 鍵'];

/** 60,000 lines of multibyte keys, each key in one window of the fixture's tumbling(100). */
function manyLines(): { text: string; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const lines: string[] = [];
  for (let i = 0; i < 60_000; i++) {
    const k = `${KEYS[i % KEYS.length]}-${i % 11}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    lines.push(JSON.stringify({ k, t: i % 100, v: 1, pad: 'ж'.repeat(i % 7) + '😀'.repeat(i % 3) }));
  }
  return { text: lines.join('\n') + '\n', counts };
}

t.test('keyflow run: 60,000 lines of multibyte keys on stdin keep every key intact', async (t) => {
  const { text, counts } = manyLines();
  const r = await keyflow(['run', MODULE, '--input', '-', '--output', '-', '--workers', '1'], text);
  t.notOk(r.timedOut, 'the run finished');
  t.equal(r.code, 0, r.stderr);
  const results = parseLines(r.stdout);
  t.same(new Map(results.map((x) => [x.key, x.n])), counts, 'one result per key, with every event counted');
  t.notMatch(r.stderr, /error:/);
});

t.test('keyflow run: a file with a BOM, a character across the 1 MiB read boundary and a line that is not UTF-8', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-encoding-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.ndjson');
  const errors = join(dir, 'errors.ndjson');
  const parts: Buffer[] = [Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"k":"first","t":1,"v":1}\n')];
  parts.push(Buffer.from('{"k":"bad\xff","t":1,"v":1}\n', 'latin1'));
  let size = parts.reduce((n, p) => n + p.length, 0);
  const filler = Buffer.from('{"k":"filler","t":2,"v":1}\n');
  let fillers = 0;
  while (size + filler.length < (1 << 20) - 100) {
    parts.push(filler);
    size += filler.length;
    fillers++;
  }
  // The 4-byte key starts 2 bytes before the first read ends: it is cut in half.
  const head = '{"t":3,"v":1,"p":"';
  const pad = (1 << 20) - 2 - size - Buffer.byteLength(head + '","k":"');
  parts.push(Buffer.from(`${head}${'y'.repeat(pad)}","k":"🔑"}\n{"k":"last","t":4,"v":1}\n`));
  t.equal(Buffer.concat(parts).indexOf(Buffer.from('🔑')), (1 << 20) - 2, 'the key straddles the read boundary');
  await writeFile(input, Buffer.concat(parts));

  const r = await keyflow(['run', MODULE, '--input', input, '--output', '-', '--errors', errors, '--workers', '1']);
  t.notOk(r.timedOut, 'the run finished');
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout).map((x) => [x.key, x.n]).sort(), [['filler', fillers], ['first', 1], ['last', 1], ['🔑', 1]]);
  t.match(parseLines(await readFile(errors, 'utf8')), [{ code: 'ERR_KEYFLOW_BAD_ENCODING', stage: 'parse', source: 'in.ndjson', position: 2 }]);
  t.match(r.stderr, /error: parse at in\.ndjson:2: not valid UTF-8 at byte 10 of the line/);
  t.match(r.stderr, /errors: +1\n/);
});

t.test('ingestNdjson() of a web stream (chunks that are Uint8Arrays, not Buffers), on the calling thread or source threads', async (t) => {
  const events = Array.from({ length: 3_000 }, (_, id) => ({ id, pad: `π ${id}` }));
  const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
  for (const sourceThreads of [0, 2]) {
    const engine = await start({ module: fixture('passthrough'), workers: 2, sourceThreads });
    const got: unknown[] = [];
    engine.results('echo').on('data', (r) => got.push(r));
    const stream = new Blob([text]).stream() as unknown as AsyncIterable<Uint8Array>;
    await engine.ingestNdjson(stream, { source: 'web' });
    await engine.stop();
    t.same((got as typeof events).sort((a, b) => a.id - b.id), events, `source threads ${sourceThreads}: every event, intact`);
  }
});
