import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NexmarkOptions, type StartOptions } from '../lib/index.js';
import { start } from './helpers/start.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import { fixture, sorted } from './helpers/collect.js';
import { lines } from './helpers/cli.js';

// The Nexmark generator as a parallel source (engine.ingestNexmark): pool threads generate ranges of events
// and route them. Event i is the same wherever it is generated, so the results must be those of ingest() on
// one generator's events, whatever the pool size, the worker count or the range size.

const JOB = new URL('../examples/bids-per-auction.js', import.meta.url).href;
/** Out of order by up to 5 s where the job allows 2 s: some bids are late. */
const GENERATOR = { seed: 17, outOfOrderMs: 5_000 };
const EVENTS = 60_000;

interface Outputs { results: string[]; late: string[] }

async function run(options: Partial<StartOptions>, feed: (engine: Awaited<ReturnType<typeof start>>) => Promise<void>): Promise<Outputs> {
  const engine = await start({ module: JOB, ...options });
  const results: unknown[] = [];
  const late: unknown[] = [];
  engine.results('bids-per-auction').on('data', (r) => results.push(r));
  engine.late('bids-per-auction').on('data', (e) => late.push(e));
  await feed(engine);
  await engine.stop();
  return { results: sorted(results), late: sorted(late) };
}

/** The reference: one generator's events, ingested in order on the calling thread. */
function reference(): Promise<Outputs> {
  return run({ workers: 1, sourceThreads: 0 }, async (engine) => {
    const gen = new NexmarkGenerator(GENERATOR);
    for (let sent = 0; sent < EVENTS; sent += 10_000) await engine.ingest(gen.batch(10_000));
  });
}

const same = (a: Outputs, b: Outputs) => a.results.join('\n') === b.results.join('\n') && a.late.join('\n') === b.late.join('\n');

t.test('a generator started at event i gives the events one started at 0 gives from i on', async (t) => {
  for (const first of [0, 1, 49, 50, 51, 12_345]) {
    const whole = new NexmarkGenerator({ seed: 3 }).batch(first + 300).slice(first);
    t.same(new NexmarkGenerator({ seed: 3, first }).batch(300), whole, `from event ${first}`);
  }
  t.not(JSON.stringify(new NexmarkGenerator({ seed: 3 }).batch(50)), JSON.stringify(new NexmarkGenerator({ seed: 4 }).batch(50)), 'another seed, other events');
});

t.test('the same results and late events for every pool size and worker count as ingest() of one generator', async (t) => {
  const want = await reference();
  t.ok(want.results.length > 3_000, `${want.results.length} results`);
  t.ok(want.late.length > 20, `${want.late.length} late events`);
  // Every pool size with one and two actors, and four actors with two source threads.
  const configs = [...[1, 2].flatMap((workers) => [0, 1, 2, 4].map((sourceThreads) => ({ workers, sourceThreads }))), { workers: 4, sourceThreads: 2 }];
  for (const { workers, sourceThreads } of configs) {
    const got = await run({ workers, sourceThreads }, (engine) => engine.ingestNexmark({ ...GENERATOR, events: EVENTS, chunkEvents: 3_000 }));
    t.ok(same(got, want), `workers ${workers}, source threads ${sourceThreads}: ${got.results.length} results and ${got.late.length} late events, as from one generator`);
  }
});

t.test('exactly once across an abort: a rerun resumes at the event the checkpoint holds', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-nexmark-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'out.ndjson');
  const events = 30_000;
  const source: NexmarkOptions = { ...GENERATOR, events, sourceId: 'nexmark', chunkEvents: 2_000 };
  const open = async () => {
    const engine = await start({ module: fixture('nexmark-passthrough'), workers: 2, sourceThreads: 2, stateDir: join(dir, 'state') });
    engine.writeResultsTo('events', out);
    return engine;
  };
  let engine = await open();
  // Part of the events, checkpointed; more, not checkpointed; then the process "dies".
  const part = new AbortController();
  await engine.ingestNexmark({ ...source, signal: part.signal, onProgress: (n) => { if (n >= 10_000) part.abort(); } });
  await engine.checkpoint();
  const resumeAt = engine.resumePosition('nexmark') ?? 0;
  await engine.ingestNexmark({ ...source, from: resumeAt, events: 5_000 });
  await engine.abort();
  engine = await open();
  t.equal(engine.resumePosition('nexmark'), resumeAt, 'the rerun resumes at the checkpointed event');
  t.ok(resumeAt >= 10_000 && resumeAt < events, `after event ${resumeAt}`);
  await engine.ingestNexmark({ ...source, from: resumeAt, events: events - resumeAt });
  await engine.stop();
  const written = lines(await readFile(out, 'utf8')).sort();
  const want = new NexmarkGenerator(GENERATOR).batch(events).map((e) => JSON.stringify(e)).sort();
  t.equal(written.length, events, 'each event once');
  t.ok(written.every((line, i) => line === want[i]), 'the events of one uninterrupted generator');
});

t.test('a count, start or chunk size that is not a whole number is refused, naming it', async (t) => {
  const engine = await start({ module: JOB, workers: 1, sourceThreads: 1 });
  t.teardown(() => engine.stop());
  for (const [bad, name] of [[{ events: -1 }, 'events'], [{ events: 1.5 }, 'events'], [{ events: 10, from: -3 }, 'from'], [{ events: 10, chunkEvents: 0 }, 'chunkEvents']] as const) {
    await t.rejects(engine.ingestNexmark(bad), { code: 'ERR_KEYFLOW_CONFIG', message: new RegExp(`${name} must be an integer`) });
  }
});
