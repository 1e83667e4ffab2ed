/**
 * The JetStream source and sink under failure: a child process killed with SIGKILL at random moments and
 * run again on its state directory, and the server restarted under a running child (down for a moment, and
 * for longer than a request waits). Every window and late bid must be in the output stream exactly once: by
 * message id, and by content against the reference. A server gone for good fails the read, or the engine,
 * with an error that names the stream or subject, once `retryForMs` has run out: it does not hang.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { sorted } from './helpers/collect.js';
import { nodeCommand } from './helpers/node-child.js';
import { tumblingBidsReference } from './helpers/tumbling-bids.js';
import { fixture } from './helpers/collect.js';
import { start } from './helpers/start.js';
import { NatsServer, emptied, natsServerMissing, publishAll, readStream } from './helpers/nats-server.js';
import { CRASH_SOAK, most } from './helpers/crash.js';
import { RetentionPolicy } from '@nats-io/jetstream';

const CHILD = fileURLToPath(new URL('./fixtures/jetstream-child.js', import.meta.url));
const EVENTS = 20_000;
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 5, outOfOrderMs: 3_000, eventsPerSecond: 1_000 }).batch(EVENTS);
const expected = tumblingBidsReference(events);
const missing = natsServerMissing();

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run the child; `killAfterMs`: SIGKILL it that long after it starts reading. */
function child(url: string, stateDir: string, atEnd: 'hold' | 'publish', killAfterMs?: number, onReading?: () => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(...nodeCommand([CHILD, url, stateDir, atEnd]), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const hang = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!stdout.startsWith('reading')) return;
      if (killAfterMs !== undefined) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
      onReading?.();
      killAfterMs = undefined;
      onReading = undefined;
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(hang);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function setUp(t: Test, retention: RetentionPolicy = RetentionPolicy.Limits): Promise<{ server: NatsServer; stateDir: string; check: () => Promise<void> }> {
  const server = await NatsServer.start(t);
  const { js, jsm } = await server.client(t);
  await jsm.streams.add({ name: 'EV', subjects: ['ev'], retention });
  await jsm.streams.add({ name: 'OUT', subjects: ['out.>'], duplicate_window: 600e9 });
  await publishAll(js, () => 'ev', events.map((e) => JSON.stringify(e)));
  const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-jetstream-crash-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const check = async () => {
    const out = await readStream(js, jsm, 'OUT');
    t.equal(new Set(out.map((m) => m.id)).size, out.length, 'one message per id');
    const of = (kind: string) => out.filter((m) => m.id!.includes(`:${kind}:`)).map((m) => JSON.parse(m.text));
    t.same(sorted(of('results')), sorted(expected.results), `every window once and complete (${expected.results.length})`);
    t.same(sorted(of('late')), sorted(expected.late), `every late bid once (${expected.late.length})`);
    if (retention === RetentionPolicy.Workqueue) t.equal(await emptied(jsm, 'EV'), 0, 'the work queue let go of every message');
  };
  return { server, stateDir, check };
}

for (const retention of [RetentionPolicy.Limits, RetentionPolicy.Workqueue]) {
  t.test(`SIGKILL at random moments, then a run to the end: every window and late bid published once (${retention} retention)`, { skip: missing ?? false }, async (t) => {
    const { server, stateDir, check } = await setUp(t, retention);
    let seed = 77;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const planned = 6 * CRASH_SOAK;
    let kills = 0;
    for (let i = 0; i < planned; i++) {
      const run = await child(server.url, stateDir, 'hold', Math.floor(random() * 600));
      if (run.signal === 'SIGKILL') kills++;
      else t.equal(run.code, 0, `a run that was not killed ends well: ${run.stderr}`);
    }
    t.ok(kills >= most(planned, 0.6), `${kills} of ${planned} runs killed`);
    const last = await child(server.url, stateDir, 'publish');
    t.equal(last.code, 0, `the last run ends well: ${last.stderr}`);
    await check();
  });
}

// Down for a moment, and for longer than a pull or a request waits (5 s), within retryForMs.
for (const downMs of [500, 7_000]) {
  t.test(`the server restarted under a running engine, down ${downMs} ms: it waits for the server, and every output is published once`, { skip: missing ?? false }, async (t) => {
    const { server, stateDir, check } = await setUp(t);
    let restarted: Promise<void> = Promise.resolve();
    const run = await child(server.url, stateDir, 'publish', undefined, () => {
      restarted = new Promise((r) => setTimeout(r, 150)).then(() => server.restart(downMs));
    });
    await restarted;
    t.equal(run.code, 0, `the run ends well: ${run.stderr}`);
    t.match(run.stdout, new RegExp(`done ${EVENTS}\\b`), 'having read every event once');
    await check();
  });
}

/** How long past `retryForMs` a failure may take: what is under way when it runs out (a pull, then a request of the consumer's info) waits up to 5 s each. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Far more than a failure takes: a read or a stop() still pending then hangs. */
const HANG_MS = 60_000;

/** What `p` came to within `ms`: its value, its error, or that it still waits. */
function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | 'pending'> {
  return Promise.race([
    p.then((value) => ({ value }), (error: unknown) => ({ error })),
    new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms).unref()),
  ]);
}

t.test('the server gone for good while the source reads: the read fails once retryForMs has run out, naming the stream', { skip: missing ?? false }, async (t) => {
  const server = await NatsServer.start(t);
  const { js, jsm } = await server.client(t);
  await jsm.streams.add({ name: 'EV', subjects: ['ev'] });
  await publishAll(js, () => 'ev', events.slice(0, 2_000).map((e) => JSON.stringify(e)));
  const engine = await start({ module: fixture('nexmark'), sourceThreads: 1 });
  const results: unknown[] = [];
  engine.results('tumbling-bids').on('data', (r) => results.push(r));
  // Not untilCaughtUp: once the stream is read, the source waits for more, pulling.
  const reading = engine.ingestJetStream({ servers: server.url, stream: 'EV', retryForMs: 1_000 });
  while ((await jsm.consumers.info('EV', 'keyflow-nats_EV').catch(() => null))?.num_pending !== 0) await new Promise((r) => setTimeout(r, 20));
  await server.stop();
  const gone = performance.now();
  const read = await within(reading, HANG_MS);
  const tookMs = performance.now() - gone;
  t.not(read, 'pending', 'the read does not hang');
  t.match(read, { error: { code: 'ERR_KEYFLOW_INPUT', message: /cannot read JetStream stream EV for 1000 ms/ } }, 'it fails, naming the stream');
  t.ok(tookMs >= 1_000 && tookMs < 1_000 + REQUEST_TIMEOUT_MS + 2_000, `after retryForMs (${Math.round(tookMs)} ms)`);
  t.same(await within(engine.stop().then(() => 'stopped'), HANG_MS), { value: 'stopped' }, 'stop() ends the engine');
  t.ok(results.length > 0, `what was read before is processed (${results.length} windows)`);
});

t.test('the server gone for good under the sink: the engine fails once retryForMs has run out, naming the subject', { skip: missing ?? false }, async (t) => {
  const server = await NatsServer.start(t);
  const { jsm } = await server.client(t);
  await jsm.streams.add({ name: 'OUT', subjects: ['out.>'] });
  const engine = await start({ module: fixture('nexmark'), sourceThreads: 0 });
  await engine.publishResultsTo('tumbling-bids', { servers: server.url, subject: 'out.results', retryForMs: 1_000 });
  await engine.ingest(events.slice(0, EVENTS / 2));
  await server.stop();
  const gone = performance.now();
  // Windows the rest fires cannot be published; ingest() may take them (the sink fails on its own time).
  await within(engine.ingest(events.slice(EVENTS / 2)), HANG_MS);
  const stopped = await within(engine.stop(), HANG_MS);
  const tookMs = performance.now() - gone;
  t.not(stopped, 'pending', 'stop() does not hang');
  t.match(stopped, { error: { code: 'ERR_KEYFLOW_OUTPUT', message: /cannot publish to out\.results/ } }, 'stop() rejects with the sink\'s failure, naming the subject');
  t.ok(tookMs >= 1_000 && tookMs < 1_000 + REQUEST_TIMEOUT_MS + 2_000, `once retryForMs has run out (${Math.round(tookMs)} ms)`);
});

t.test('a server that refuses the credentials for a while (a password changed, then changed back): the read goes on, every window once', { skip: missing ?? false }, async (t) => {
  const users = (password: string) => `authorization { users = [ { user: "admin", password: "a" }, { user: "reader", password: "${password}" } ] }`;
  const server = await NatsServer.start(t, users('first'));
  const { js, jsm } = await server.client(t, { user: 'admin', pass: 'a' });
  await jsm.streams.add({ name: 'EV', subjects: ['ev'] });
  await publishAll(js, () => 'ev', events.map((e) => JSON.stringify(e)));
  const engine = await start({ module: fixture('nexmark'), sourceThreads: 1 });
  const results: unknown[] = [];
  const late: unknown[] = [];
  engine.results('tumbling-bids').on('data', (r) => results.push(r));
  engine.late('tumbling-bids').on('data', (e) => late.push(e));
  // Small pulls, so that the read is still going while the server refuses it.
  const read = within(engine.ingestJetStream({ servers: server.url, user: 'reader', pass: 'first', stream: 'EV', batch: 100, untilCaughtUp: true, retryForMs: 30_000 }), HANG_MS);
  for (let tries = 0; tries < 2_000; tries++) {
    const info = await jsm.consumers.info('EV', 'keyflow-nats_EV').catch(() => null);
    if (info !== null && info.delivered.consumer_seq >= 2_000) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  // Several reconnects are refused meanwhile (the client tries every 250 ms): it gave up after two.
  await server.restart(0, users('second'));
  await new Promise((r) => setTimeout(r, 1_500));
  await server.restart(0, users('first'));
  t.same(await read, { value: undefined }, 'the read ends well');
  await engine.stop();
  t.same(sorted(results), sorted(expected.results), `every window once and complete (${expected.results.length})`);
  t.same(sorted(late), sorted(expected.late), 'every late bid once');
});
