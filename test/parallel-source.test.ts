import t, { type Test } from 'tap';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ndjsonFile, type DeadLetter, type NdjsonOptions, type StartOptions } from '../lib/index.js';
import { start } from './helpers/start.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import { fixture, sorted } from './helpers/collect.js';
import { until, within } from './helpers/wait.js';
import { lines as nonEmptyLines } from './helpers/cli.js';

// A parallel source (engine.ingestNdjson): pool threads parse and route chunks of the input, the calling
// thread takes them in, in order. Its results must be those of routing the same lines one by one on the
// calling thread (sourceThreads 0), whatever the pool size, the worker count or the chunk size.

const JOB = new URL('../examples/bids-per-auction.js', import.meta.url).href;

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-parallel-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Nexmark events as NDJSON, out of order by up to 5 s where the job allows 2 s: some bids are late. */
function events(n: number, seed: number): string {
  const gen = new NexmarkGenerator({ seed, outOfOrderMs: 5_000 });
  return gen.batch(n).map((e) => JSON.stringify(e)).join('\n') + '\n';
}

interface Outputs { results: string[]; late: string[]; errors: DeadLetter[] }

/** The file as a stream (cut into chunks on the calling thread), or as ndjsonFile() (byte ranges the source threads read). */
type Reading = 'stream' | 'file';
const inputOf = (file: string, reading: Reading) => (reading === 'file' ? ndjsonFile(file) : createReadStream(file));

async function runOn(file: string, options: Partial<StartOptions>, ndjson: NdjsonOptions = {}, reading: Reading = 'stream'): Promise<Outputs> {
  const engine = await start({ module: JOB, ...options });
  const results: unknown[] = [];
  const late: unknown[] = [];
  const errors: DeadLetter[] = [];
  engine.results('bids-per-auction').on('data', (r) => results.push(r));
  engine.late('bids-per-auction').on('data', (e) => late.push(e));
  engine.errors().on('data', (e) => errors.push(e));
  await engine.ingestNdjson(inputOf(file, reading), { source: 'events.ndjson', ...ndjson });
  await engine.stop();
  return { results: sorted(results), late: sorted(late), errors };
}

t.test('the same results and late events for every pool size and worker count as routing on the calling thread', async (t) => {
  const file = join(await scratch(t), 'events.ndjson');
  await writeFile(file, events(200_000, 11));
  const want = await runOn(file, { workers: 1, sourceThreads: 0 });
  t.ok(want.results.length > 10_000, `${want.results.length} results`);
  t.ok(want.late.length > 100, `${want.late.length} late events`);
  for (const workers of [1, 2, 4]) {
    for (const sourceThreads of [1, 2, 4]) {
      // Read as a stream and as a file, in turn (a file's ranges are cut at other bytes than a stream's chunks).
      const reading: Reading = (workers + sourceThreads) % 2 === 0 ? 'file' : 'stream';
      const got = await runOn(file, { workers, sourceThreads }, { chunkBytes: 256 * 1024 }, reading);
      t.ok(got.results.join('\n') === want.results.join('\n') && got.late.join('\n') === want.late.join('\n'),
        `workers ${workers}, source threads ${sourceThreads}, read as a ${reading}: ${got.results.length} results and ${got.late.length} late events, as routed one by one`);
    }
  }
});

t.test('bad lines found by pool threads are dead letters naming the file and the line, in line order', async (t) => {
  const file = join(await scratch(t), 'events.ndjson');
  const lines = events(3_000, 5).trimEnd().split('\n');
  // Bad lines on both sides of chunk boundaries (chunks of 4 KiB hold about 20 lines), and a blank one.
  const bad = new Map<number, string>([[1, '{"kind": bid'], [57, 'not json'], [58, ''], [1234, '{'], [2999, '[1,']]);
  for (const [line, text] of bad) lines[line - 1] = text;
  lines.push('{"kind":"bid"');
  await writeFile(file, lines.join('\n'));
  const want = await runOn(file, { workers: 2, sourceThreads: 0 });
  const where = (errors: DeadLetter[]) => errors.map((e) => `${e.code} ${e.source}:${e.position}`);
  for (const reading of ['stream', 'file'] as const) {
    const got = await runOn(file, { workers: 2, sourceThreads: 2 }, { chunkBytes: 4096 }, reading);
    t.same(where(got.errors), ['ERR_KEYFLOW_BAD_JSON events.ndjson:1', 'ERR_KEYFLOW_BAD_JSON events.ndjson:57', 'ERR_KEYFLOW_BAD_JSON events.ndjson:1234',
      'ERR_KEYFLOW_BAD_JSON events.ndjson:2999', 'ERR_KEYFLOW_BAD_JSON events.ndjson:3001'], `read as a ${reading}: every bad line, by its line in the file; the blank one skipped`);
    t.same(where(got.errors), where(want.errors), 'as found on the calling thread');
    t.same(got.errors.map((e) => e.raw), want.errors.map((e) => e.raw), 'with the same raw text');
    t.ok(got.results.join('\n') === want.results.join('\n'), `the same ${got.results.length} results`);
  }
});

t.test('a reader that stops reading stops the input being read: memory stays bounded', async (t) => {
  const file = join(await scratch(t), 'events.ndjson');
  const text = Array.from({ length: 300_000 }, (_, id) => JSON.stringify({ id, pad: 'x'.repeat(100) })).join('\n') + '\n';
  await writeFile(file, text);
  // One result per event, and small rings: a stalled reader backs up into them quickly.
  const engine = await start({ module: fixture('passthrough'), workers: 1, sourceThreads: 2, ringBytes: 64 * 1024 });
  const results = engine.results(engine.pipelines[0].name);
  let read = 0;
  let done = false;
  const ingesting = engine.ingestNdjson(createReadStream(file, { highWaterMark: 64 * 1024 }), { chunkBytes: 64 * 1024, onProgress: (bytes) => (read = bytes) })
    .then(() => (done = true));
  // Nobody reads the results: the output stream fills, then the output rings, the actor stops, its input
  // ring fills, chunks wait to be taken in, and the input is read no further.
  // Stalled: no byte read for a second (the reading cannot resume by itself: only the reader can unblock it).
  let last = -1;
  let since = performance.now();
  await until('reading the input to stall', () => {
    if (read !== last) {
      last = read;
      since = performance.now();
    }
    return done || (read > 0 && performance.now() - since > 1_000) ? true : undefined;
  });
  t.notOk(done, 'the ingest waits for the reader');
  t.ok(read < text.length / 2, `read ${read} of ${text.length} bytes while nobody read the results`);
  let n = 0;
  results.on('data', () => n++);
  await ingesting;
  await engine.stop();
  t.equal(n, 300_000, 'once read, every result comes');
});

/** Lines for the passthrough fixture (one result per event), a few milliseconds apart, without end. */
async function* endless(from = 0, bad?: number): AsyncGenerator<Buffer> {
  for (let id = from; ; id++) {
    yield Buffer.from(id === bad ? 'not json\n' : JSON.stringify({ id, pad: 'x' }) + '\n');
    await new Promise((r) => setTimeout(r, 2));
  }
}

for (const sourceThreads of [0, 2]) {
  t.test(`sourceThreads ${sourceThreads}: stop() while a source is read ends its reading; what it read is ingested`, async (t) => {
    const engine = await start({ module: fixture('passthrough'), workers: 2, sourceThreads });
    let results = 0;
    engine.results(engine.pipelines[0].name).on('data', () => results++);
    const reading = engine.ingestNdjson(endless(), { live: true });
    await until('some events ingested', () => (engine.stats().events >= 20 ? true : undefined));
    const summary = await within(engine.stop(), 'stop() with a source still reading');
    await within(reading, 'ingestNdjson() after stop()');
    t.ok(summary.events >= 20, `${summary.events} events ingested`);
    t.equal(results, summary.events, 'every event ingested gave its result before the end');
    await t.rejects(engine.ingestNdjson(endless()), { code: 'ERR_KEYFLOW_STOPPED' }, 'a source started after stop() is refused');
  });

  t.test(`sourceThreads ${sourceThreads}: a failure ends a source that is still reading`, async (t) => {
    const engine = await start({ module: fixture('passthrough'), workers: 1, sourceThreads, onError: 'fail' });
    engine.results(engine.pipelines[0].name).resume();
    engine.errors().resume();
    await t.rejects(within(engine.ingestNdjson(endless(0, 30), { live: true }), 'ingestNdjson() after the failure'), { code: 'ERR_KEYFLOW_FAILED' });
    await t.rejects(engine.stop(), { code: 'ERR_KEYFLOW_FAILED' });
  });
}

t.test('exactly once across an abort with a bad line before the checkpoint: the same file from both paths', async (t) => {
  const lines = Array.from({ length: 300 }, (_, id) => JSON.stringify({ id, pad: 'x' }));
  lines[3] = 'not json';
  const text = lines.join('\n') + '\n';
  const third = (n: number) => text.indexOf('\n', (n * text.length) / 3) + 1;
  const written: string[][] = [];
  for (const [sourceThreads, reading] of [[0, 'stream'], [2, 'stream'], [2, 'file']] as const) {
    const dir = await scratch(t);
    const out = join(dir, 'out.ndjson');
    const open = async () => {
      const engine = await start({ module: fixture('passthrough'), workers: 2, sourceThreads, stateDir: join(dir, 'state') });
      engine.writeResultsTo(engine.pipelines[0].name, out);
      engine.errors().resume();
      return engine;
    };
    let engine = await open();
    // The input so far: a stream of it, or a file it has been written to (resumed by the line after the checkpoint's).
    const input = join(dir, 'in.ndjson');
    const feed = async (upTo: number) => {
      if (reading === 'file') await writeFile(input, text.slice(0, upTo));
      const from = reading === 'file' ? ndjsonFile(input) : Readable.from([Buffer.from(text.slice(0, upTo))]);
      await engine.ingestNdjson(from, { sourceId: 'events', chunkBytes: 500, skipLines: engine.resumePosition('events') ?? 0 });
    };
    await feed(third(1));
    await engine.checkpoint();
    await feed(third(2));
    await engine.abort();
    engine = await open();
    await feed(text.length);
    await engine.stop();
    written.push(nonEmptyLines(await readFile(out, 'utf8')).sort());
  }
  t.equal(written[0].length, 299, 'each event once');
  t.same(written[1], written[0], 'a pool of source threads writes the same');
  t.same(written[2], written[0], 'and so does a pool reading the file itself');
});
