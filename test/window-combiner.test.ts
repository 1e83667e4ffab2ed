import t from 'tap';
import { type StartOptions } from '../lib/index.js';
import { start } from './helpers/start.js';
import { combiningHolds } from '../lib/calling-thread/chunk-admission.js';
import { FrameSealer } from '../lib/shared/codec/frame-sender.js';
import { FrameView, viewPane, type DecodedPane } from '../lib/shared/codec/frame.js';
import { Kind } from '../lib/shared/codec/records.js';
import { Router } from '../lib/shared/router.js';
import { RoutingActivity } from '../lib/shared/routing-activity.js';
import { fixture, sorted } from './helpers/collect.js';
import { combinedEvents, numeric, type Ev } from './fixtures/combined.js';

// Window panes combined where events are routed (window-combiner.ts): the events of one key and pane in a
// frame travel as one PARTIAL record of their aggregate inputs. The results must be exactly those of routing
// the events one by one (an exactly-once source's events are never combined, which gives the reference), for
// any worker count, pool size and chunk size, late events and re-fired windows included.

interface Routed { events: number; partials: number; combined: number; panes: Array<{ key: unknown; inputs: number[] }> }

/** Route `events` through a real Router into two actors' frames, then decode the frames. */
function route(events: Ev[], tracked: boolean): Routed {
  const sealers = [new FrameSealer(1024, 1 << 24), new FrameSealer(1024, 1 << 24)];
  const router = new Router([numeric], sealers, 128, () => {}, () => {}, RoutingActivity.create());
  router.tick(Date.now());
  router.announceSource(1, { name: 'events', tracked });
  events.forEach((e, i) => router.route(e, 1, i + 1));
  router.sealAll();
  const out: Routed = { events: 0, partials: 0, combined: 0, panes: [] };
  for (const bytes of sealers.flatMap((s) => s.take())) {
    const frame = new FrameView().decode(bytes);
    for (let i = 0; i < frame.count; i++) {
      if (frame.kind[i] === Kind.EVENT) out.events++;
      if (frame.kind[i] !== Kind.PARTIAL) continue;
      const pane = viewPane(frame, frame.values[i] as DecodedPane, { count: 0, inputs: [], at: 0 });
      out.partials++;
      out.combined += pane.count;
      out.panes.push({ key: frame.keys[i], inputs: Array.from({ length: pane.count * 2 }, (_, j) => pane.inputs[pane.at + j] as number) });
    }
  }
  return out;
}

t.test('the router sends a pane\'s events as one record of their inputs, in event order, and an exactly-once source\'s one by one', async (t) => {
  const events: Ev[] = Array.from({ length: 12 }, (_, i) => ({ k: 'a', t: 100 + i, v: i + 0.5, tag: '' }));
  const one = route(events, false);
  t.equal(one.partials, 1, 'one record');
  t.equal(one.combined, 12, 'for all twelve events');
  t.same(one.panes[0], { key: 'a', inputs: events.flatMap((e) => [e.v, e.v]) }, 'their inputs, event by event (sum, then max)');

  const many = combinedEvents(20_000);
  const routed = route(many, false);
  t.ok(routed.partials > 0 && routed.partials * 3 < routed.combined, `${routed.combined} events in ${routed.partials} records`);
  t.ok(routed.events > 0, `${routed.events} events one by one (late ones, values that are not numbers)`);
  t.equal(routed.events + routed.combined, many.length, 'every event once');
  t.same(route(many, true), { events: many.length, partials: 0, combined: 0, panes: [] }, 'an exactly-once source: every event as itself');
});

t.test('an event that may fire its window goes as itself, after the pane, and the key\'s next events start another', async (t) => {
  // The watermark before the fourth event is 5_000 - 201: the window [0, 500) of the first three is due.
  const events: Ev[] = [{ k: 'a', t: 10, v: 1, tag: '' }, { k: 'a', t: 20, v: 2, tag: '' }, { k: 'b', t: 5_000, v: 3, tag: '' },
    { k: 'a', t: 30, v: 4, tag: '' }, { k: 'a', t: 5_010, v: 5, tag: '' }, { k: 'a', t: 5_020, v: 6, tag: '' }];
  const routed = route(events, false);
  t.equal(routed.events, 1, 'the fourth event as itself');
  t.same(sorted(routed.panes.map((p) => [p.key, p.inputs])), sorted([['a', [1, 1, 2, 2]], ['b', [3, 3]], ['a', [5, 5, 6, 6]]]), 'the panes around it');
});

t.test('a chunk\'s combined panes hold only if the watermark before the chunk cannot fire their windows', async (t) => {
  const basis = { outOfOrderMs: 200, watermark: 999, largest: 1_100, others: Infinity };
  const none = [-Infinity, -Infinity];
  t.ok(combiningHolds([1_000, Infinity], [basis, null], none), 'watermark below the earliest window end - 1');
  t.notOk(combiningHolds([999], [basis], none), 'watermark at it');
  t.notOk(combiningHolds([1_000], [{ ...basis, watermark: 0, largest: 1_201 }], none), 'the largest time the source has shown makes it');
  t.ok(combiningHolds([1_000], [{ ...basis, watermark: 0, largest: 5_000, others: 1_100 }], none), 'another source holds the watermark back');
  t.notOk(combiningHolds([1_000], [basis], [1_000]), 'an actor already at it after recovery');
  t.ok(combiningHolds([Infinity], [basis], none), 'nothing combined');
});

interface Outputs { results: Record<string, string[]>; late: Record<string, string[]>; errors: string[] }

const PIPELINES = ['everything', 'numeric', 'slide'];

async function run(options: Partial<StartOptions>, feed: (engine: Awaited<ReturnType<typeof start>>) => Promise<void>): Promise<Outputs> {
  const engine = await start({ module: fixture('combined'), ...options });
  const results: Record<string, unknown[]> = {};
  const late: Record<string, unknown[]> = {};
  const errors: unknown[] = [];
  for (const name of PIPELINES) {
    engine.results(name).on('data', (r) => (results[name] ??= []).push(r));
    engine.late(name).on('data', (e) => (late[name] ??= []).push(e));
  }
  engine.errors().on('data', (e) => errors.push(e));
  await feed(engine);
  await engine.stop();
  const each = (m: Record<string, unknown[]>) => Object.fromEntries(PIPELINES.map((n) => [n, sorted(m[n])]));
  return { results: each(results), late: each(late), errors: sorted(errors) };
}

const EVENTS = combinedEvents(30_000);
const NDJSON = EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n';

async function* pieces(): AsyncGenerator<Buffer> {
  for (let at = 0; at < NDJSON.length; at += 50_000) yield Buffer.from(NDJSON.slice(at, at + 50_000));
}

t.test('parallel NDJSON: combined panes give the results, late events and dead letters of routing event by event', async (t) => {
  // The reference: an exactly-once source, whose events are never combined.
  const want = await run({ workers: 1, sourceThreads: 1 }, (engine) => engine.ingestNdjson(pieces(), { sourceId: 'events' }));
  for (const name of PIPELINES) t.ok(want.results[name].length > 100, `${name}: ${want.results[name].length} results`);
  t.ok(want.late.everything.length > 10 && want.late.numeric.length > 10, `late events: ${want.late.everything.length}, ${want.late.numeric.length}`);
  t.ok(want.errors.length > 10, `${want.errors.length} dead letters`);
  for (const { workers, sourceThreads, chunkBytes } of [
    { workers: 1, sourceThreads: 1, chunkBytes: 1 << 20 },
    { workers: 3, sourceThreads: 2, chunkBytes: 16_384 },
    { workers: 2, sourceThreads: 0, chunkBytes: 1 << 20 },
  ]) {
    const got = await run({ workers, sourceThreads }, (engine) => engine.ingestNdjson(pieces(), { source: 'events', chunkBytes }));
    t.same(got, want, `workers ${workers}, source threads ${sourceThreads}, chunks of ${chunkBytes} bytes`);
  }
});

t.test('ingest(): combined panes give the results of routing event by event', async (t) => {
  const batches = Array.from({ length: 6 }, (_, b) => EVENTS.slice(b * 5_000, (b + 1) * 5_000));
  const want = await run({ workers: 1 }, async (engine) => {
    for (const [seq, batch] of batches.entries()) await engine.ingest(batch, { sourceId: 'events', seq });
  });
  for (const workers of [1, 4]) {
    const got = await run({ workers }, async (engine) => {
      for (const batch of batches) await engine.ingest(batch);
    });
    t.same({ results: got.results, late: got.late }, { results: want.results, late: want.late }, `workers ${workers}`);
    t.equal(got.errors.length, want.errors.length, `workers ${workers}: the same number of dead letters`);
  }
});
