import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Engine, type IngestOptions } from '../lib/index.js';
import { start } from './helpers/start.js';
import { fixture, runEngine, sorted } from './helpers/collect.js';
import type { Ev } from './fixtures/combined.js';

// Edges where combining a window pane's events (window-combiner.ts) must still give what routing the events
// one by one gives: actors ahead of the router after recovery, panes too large for a frame, events that are
// not plain objects. The reference is an exactly-once source (sourceId), whose events are never combined.

const PIPELINES = ['everything', 'numeric', 'slide'];

function collect(engine: Engine) {
  const out = { results: {} as Record<string, unknown[]>, late: {} as Record<string, unknown[]>, errors: [] as any[] };
  for (const name of PIPELINES) {
    engine.results(name).on('data', (r) => (out.results[name] ??= []).push(r));
    engine.late(name).on('data', (e) => (out.late[name] ??= []).push(e));
  }
  engine.errors().on('data', (e) => out.errors.push(e));
  return out;
}

const ev = (k: string, t: number, v: number): Ev => ({ k, t, v, tag: '' });

/**
 * A first run (`before`) leaves state behind; a second, on the same state directory, ingests two events of
 * key 'b' at 5 s (with `options`): how it ended, and each pipeline's late events.
 */
async function restarted(before: (engine: Engine) => Promise<void>, options: IngestOptions): Promise<{ failure: string | null; late: Record<string, string[]> }> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-combined-restart-'));
  try {
    const open = () => start({ module: fixture('combined'), workers: 1, stateDir: join(dir, 'state') });
    await before(await open());
    const second = await open();
    const out = collect(second);
    let failure: Error | null = null;
    await second.ingest([ev('b', 5_000, 1), ev('b', 5_001, 2)], options).catch((e: Error) => (failure ??= e));
    await second.stop().catch((e: Error) => (failure ??= e));
    return { failure: (failure as Error | null)?.message ?? null, late: Object.fromEntries(PIPELINES.map((n) => [n, sorted(out.late[n])])) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The second run's events are late, combined or not (then the reference: an exactly-once source), and nothing fails. */
async function lateEitherWay(t: Test, before: (engine: Engine) => Promise<void>, source: IngestOptions): Promise<void> {
  const want = await restarted(before, { ...source, sourceId: 'events', seq: 0 });
  t.equal(want.failure, null, 'one by one: no failure');
  t.equal(want.late.numeric.length, 2, 'one by one: both events are late');
  t.same(await restarted(before, source), want, 'combined: the same late events, and no failure');
}

t.test('after a crash, events the replayed WAL made late are late, not a failed actor', async (t) => {
  // The router's watermark restarts where the checkpoint left it (replay.ts), while the actors replay
  // their WAL past it: a pane the router combined could reach a window an actor already fired.
  await lateEitherWay(t, async (first) => {
    await first.ingest([ev('a', 100, 1)]);
    await first.checkpoint();
    // Logged, not checkpointed: the actor's watermark goes to 9_799 when it replays them.
    await first.ingest([ev('a', 10_000, 1), ev('a', 10_001, 1)]);
    await first.abort();
  }, {});
});

t.test('a clean restart: a source that joined behind the watermark holds the restored router back; its events are late, not a failed actor', async (t) => {
  // No crash: the router restores its watermark as min(largest of each source) − outOfOrderMs − 1, below
  // the watermark the actors snapshotted (a source that joined late, with small times, never moved it back).
  await lateEitherWay(t, async (first) => {
    await first.ingest([ev('a', 10_000, 1), ev('a', 10_001, 1)], { source: 'fast' });
    await first.ingest([ev('c', 100, 1)], { source: 'slow' });
    await first.stop();
  }, { source: 'slow' });
});

t.test('a pane whose combined inputs are too large for a frame: its events are not lost as one bogus dead letter', async (t) => {
  // Each event (~2 KB) fits a 64 KiB ring's frame; their string inputs (first/last/distinctCount of tag)
  // combined into one PARTIAL record do not.
  const events: Ev[] = Array.from({ length: 60 }, (_, i) => ({ k: 'a', t: i, v: 1, tag: `${i}${'x'.repeat(2_000)}` }));
  const options = { module: fixture('combined'), workers: 1, ringBytes: 64 * 1024 };
  const want = await runEngine(options, [events], { sourceId: 'events', seq: 0 });
  t.equal(want.errors.length, 0, 'one by one: no dead letter');
  t.equal(want.results.everything?.[0]?.n, 60, 'one by one: all 60 events counted');
  const got = await runEngine(options, [events]);
  const described = got.errors.map((e) => ({ code: e.code, events: (e.event as { count?: number } | undefined)?.count ?? 1 }));
  t.same(described, [], 'combined: no dead letter');
  const counts = (rs: any[] | undefined) => sorted((rs ?? []).map((r) => [r.windowStart, r.n, r.tags ?? null]));
  t.same(counts(got.results.everything), counts(want.results.everything), 'combined: the same results (everything)');
  t.same(counts(got.results.slide), counts(want.results.slide), 'combined: the same results (slide)');
});

class Reading {
  constructor(readonly k: string, readonly t: number, readonly tag: string) {}
  /** Not an own property: an event crosses to its actor without it. */
  get v(): number {
    return 1;
  }
}

t.test('an ingested class instance: combined or not, its field functions see the same event', async (t) => {
  // One by one, the event crosses to its actor as its own properties and `v` (a getter) is gone: a dead
  // letter. Only plain objects are combined, so the field functions never see the original's getter.
  const events = [new Reading('a', 1, ''), new Reading('a', 2, '')];
  const want = await runEngine({ module: fixture('combined'), workers: 1 }, [events], { sourceId: 'events', seq: 0 });
  t.ok(want.errors.length > 0, `one by one: ${want.errors.length} dead letters`);
  const got = await runEngine({ module: fixture('combined'), workers: 1 }, [events]);
  t.same({ results: sorted(got.results.numeric), errors: got.errors.length }, { results: sorted(want.results.numeric), errors: want.errors.length },
    'combined: the results and dead letters of routing one by one');
});
