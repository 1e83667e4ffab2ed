/**
 * The JetStream source and sink against a real nats-server on loopback: a stream of Nexmark events in,
 * windows and late events out exactly once, compared with the plain reference; positions are stream
 * sequences (another subject's messages in between are passed over), a bad message is a dead letter
 * naming its sequence, and a message spread over several lines is one event.
 */
import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { partitionOf, keyGroupOf, actorOf, type DeadLetter } from '../lib/index.js';
import { fixture, sorted } from './helpers/collect.js';
import { tumblingBidsReference } from './helpers/tumbling-bids.js';
import { start } from './helpers/start.js';
import { keyflow } from './helpers/cli.js';
import { NatsServer, emptied, natsServerMissing, publishAll, readStream } from './helpers/nats-server.js';
import { splitCredentials } from '../lib/calling-thread/jetstream-connection.js';
import { RetentionPolicy } from '@nats-io/jetstream';

const EVENTS = 20_000;
// 20 s of event time, up to 3 s out of order while the pipeline allows 2 s: windows close while the input is read, and some bids are late.
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 11, outOfOrderMs: 3_000, eventsPerSecond: 1_000 }).batch(EVENTS);
const expected = tumblingBidsReference(events);

const missing = natsServerMissing();

t.test('partitionOf() puts a key where its key-group goes, as actors share key-groups', async (t) => {
  for (const key of ['a', 'auction-17', 42, 7.5]) {
    t.equal(partitionOf(key, 8), actorOf(keyGroupOf(key, 128), 8, 128));
    t.equal(partitionOf(key, 3, 256), actorOf(keyGroupOf(key, 256), 3, 256));
  }
  const seen = new Set(Array.from({ length: 1000 }, (_, i) => partitionOf(`k${i}`, 8)));
  t.same([...seen].sort(), [0, 1, 2, 3, 4, 5, 6, 7], 'every partition gets keys');
  t.throws(() => partitionOf('a', 0), RangeError);
  t.throws(() => partitionOf('a', 129), RangeError);
});

t.test('credentials are taken out of server URLs (the client takes none from them), and options win', async (t) => {
  t.same(splitCredentials({ servers: 'nats://u%40x:p%3Aw@h:4222' }), { urls: ['nats://h:4222'], credentials: { user: 'u@x', pass: 'p:w' } });
  t.same(splitCredentials({ servers: ['h1:4222', 'tok@h2:4222'] }), { urls: ['h1:4222', 'h2:4222'], credentials: { token: 'tok' } });
  t.same(splitCredentials({ servers: 'nats://u:p@h:1', token: 't' }), { urls: ['nats://h:1'], credentials: { token: 't' } });
  t.same(splitCredentials({ servers: 'nats://h:1' }), { urls: ['nats://h:1'], credentials: {} });
  // What a URL parser would refuse or change: taken as written, up to the last '@'.
  t.same(splitCredentials({ servers: 'nats://u:p/w#x@[::1]:4222' }), { urls: ['nats://[::1]:4222'], credentials: { user: 'u', pass: 'p/w#x' } });
  t.same(splitCredentials({ servers: 'u:a://b@h:4222' }), { urls: ['h:4222'], credentials: { user: 'u', pass: 'a://b' } });
  t.same(splitCredentials({ servers: 'ws://u:@h:80' }), { urls: ['ws://h:80'], credentials: { user: 'u', pass: '' } });
  t.same(splitCredentials({ servers: 'nats://:pw@h' }), { urls: ['nats://h'], credentials: { user: '', pass: 'pw' } });
  t.same(splitCredentials({ servers: ['nats://u:p@h1', 'nats://h2', 'nats://u:p@h3'] }).credentials, { user: 'u', pass: 'p' });
  const refused = (servers: string | string[]) => {
    try {
      splitCredentials({ servers });
      return null;
    } catch (err) {
      return err as Error & { code: string };
    }
  };
  const bad = refused('nats://u:s3cr%zz@h:4222');
  t.match(bad, { code: 'ERR_KEYFLOW_CONFIG', message: /nats:\/\/h:4222 are not valid percent-encoding/ });
  t.notMatch(JSON.stringify(bad) + String(bad?.message), /s3cr/, 'without the password');
  const two = refused(['nats://a:one@h1', 'nats://b:two@h2']);
  t.match(two, { code: 'ERR_KEYFLOW_CONFIG', message: /nats:\/\/h1, nats:\/\/h2 carry different credentials/ });
  t.notMatch(String(two?.message), /:one|:two/, 'without them');
});

t.test('a JetStream stream in, windows and late events out to JetStream exactly once, as the reference', { skip: missing ?? false }, async (t) => {
  const server = await NatsServer.start(t);
  const { js, jsm } = await server.client(t);
  await jsm.streams.add({ name: 'EV', subjects: ['ev.>'] });
  // Messages of another subject in between: the consumer passes over their sequences.
  const bad = { seq: 0 };
  for (let i = 0; i < EVENTS; i += 500) {
    const sent = events.slice(i, i + 500).map((e, j) => js.publish('ev.main', i + j === 7 ? JSON.stringify(e, null, 2) : JSON.stringify(e)));
    await Promise.all([...sent, js.publish('ev.noise', 'not for keyflow')]);
    if (i === 1000) bad.seq = (await js.publish('ev.main', '{"kind": "bid", "bid": ')).seq;
  }

  for (const [n, options] of [{ sourceThreads: 0, workers: 1 }, { sourceThreads: 2, workers: 2 }].entries()) {
    await t.test(`${options.sourceThreads} source threads, ${options.workers} workers`, async (t) => {
      const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-jetstream-'));
      t.teardown(() => rm(stateDir, { recursive: true, force: true }));
      await jsm.streams.add({ name: `OUT${n}`, subjects: [`out${n}.>`], duplicate_window: 600e9 });
      const engine = await start({ module: fixture('nexmark'), stateDir, ...options });
      const errors: DeadLetter[] = [];
      engine.errors().on('data', (e: DeadLetter) => errors.push(e));
      // A last run: what the end of input fires is published too.
      await engine.publishResultsTo('tumbling-bids', { servers: server.url, subject: `out${n}.results`, atEnd: 'publish' });
      await engine.publishLateTo('tumbling-bids', { servers: server.url, subject: `out${n}.late`, atEnd: 'publish' });
      const lags: number[] = [];
      const poll = setInterval(() => lags.push(engine.metrics().sourceLag[0]?.messages ?? -1), 5);
      await engine.ingestJetStream({ servers: server.url, stream: 'EV', subject: 'ev.main', batch: 700, untilCaughtUp: true });
      clearInterval(poll);
      t.ok(Math.max(...lags) > 0, `the metrics showed messages not read yet while reading (${Math.max(...lags)} at most)`);
      t.same(engine.metrics().sourceLag, [{ source: 'nats:EV:ev.main', messages: 0 }], 'the metrics say the source has caught up');
      const summary = await engine.stop();
      t.equal(summary.checkpoints.completed, 1, 'the final checkpoint completed (after the server acknowledged every output)');

      const out = await readStream(js, jsm, `OUT${n}`);
      const results = out.filter((m) => m.id!.includes(':results:')).map((m) => JSON.parse(m.text));
      const late = out.filter((m) => m.id!.includes(':late:')).map((m) => JSON.parse(m.text));
      t.equal(new Set(out.map((m) => m.id)).size, out.length, 'one message id per output');
      t.same(sorted(results), sorted(expected.results), `${results.length} windows, as the reference`);
      t.same(sorted(late), sorted(expected.late), `${late.length} late bids, as the reference`);
      t.ok(late.length > 100, 'the test sees late bids');
      t.equal(errors.length, 1, 'one dead letter');
      t.match(errors[0], { code: 'ERR_KEYFLOW_BAD_JSON', source: 'nats:EV:ev.main', position: bad.seq }, 'naming the message by its stream sequence');
      const consumer = await jsm.consumers.info('EV', 'keyflow-nats_EV_ev_main');
      t.equal(consumer.ack_floor.stream_seq, consumer.delivered.stream_seq, 'the final checkpoint acknowledged every message read');
    });
  }
});

for (const retention of [RetentionPolicy.Limits, RetentionPolicy.Workqueue]) {
  t.test(`a run resumed on the same state reads only new messages and publishes the windows the first held at its end (${retention} retention)`, { skip: missing ?? false }, async (t) => {
    const server = await NatsServer.start(t);
    const { js, jsm } = await server.client(t);
    await jsm.streams.add({ name: 'EV', subjects: ['ev'], retention });
    await jsm.streams.add({ name: 'OUT', subjects: ['out'], duplicate_window: 600e9 });
    const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-jetstream-'));
    t.teardown(() => rm(stateDir, { recursive: true, force: true }));
    const half = EVENTS / 2;
    const publish = (list: NexmarkEvent[]) => publishAll(js, () => 'ev', list.map((e) => JSON.stringify(e)));
    const run = async (atEnd: 'hold' | 'publish') => {
      const engine = await start({ module: fixture('nexmark'), stateDir, sourceThreads: 1 });
      await engine.publishResultsTo('tumbling-bids', { servers: server.url, subject: 'out', atEnd });
      let fired = 0;
      engine.results('tumbling-bids').on('data', () => fired++);
      await engine.ingestJetStream({ servers: server.url, stream: 'EV', untilCaughtUp: true });
      return { ...await engine.stop(), fired };
    };
    await publish(events.slice(0, half));
    const first = await run('hold');
    const published = (await jsm.streams.info('OUT')).state.messages;
    t.ok(published > 0 && published < first.fired, `the first run published the ${published} windows it fired while reading, not the ${first.fired - published} it fired at its end`);
    if (retention === RetentionPolicy.Workqueue) t.equal(await emptied(jsm, 'EV'), 0, 'the work queue let go of every message the final checkpoint covered');
    await publish(events.slice(half));
    const second = await run('publish');
    t.equal(first.events, half, 'the first run read the first half');
    t.equal(second.events, EVENTS - half, 'the second read only the messages after its checkpoint');
    if (retention === RetentionPolicy.Workqueue) t.equal(await emptied(jsm, 'EV'), 0, 'and the work queue let go of those too');
    const results = (await readStream(js, jsm, 'OUT')).map((m) => JSON.parse(m.text));
    t.same(sorted(results), sorted(expected.results), 'every window once, complete');
  });
}

t.test('credentials in the URL or as options; on a work queue, messages a checkpoint covered but whose acknowledgements never arrived are passed over, then acknowledged', { skip: missing ?? false }, async (t) => {
  // A user that may not acknowledge: its acknowledgements never reach the stream, as if lost when a job stopped.
  const server = await NatsServer.start(t, `authorization { users = [
    { user: "admin", password: "s3cret" }
    { user: "noack", password: "n0-ack", permissions: { publish: { deny: ["$JS.ACK.>"] } } }
  ] }`);
  const admin = { user: 'admin', pass: 's3cret' };
  const { js, jsm } = await server.client(t, admin);
  await jsm.streams.add({ name: 'EV', subjects: ['ev'], retention: RetentionPolicy.Workqueue });
  await jsm.streams.add({ name: 'OUT', subjects: ['out'], duplicate_window: 600e9 });
  const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-jetstream-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const at = `127.0.0.1:${server.port}`;

  const refused = await start({ module: fixture('nexmark'), sourceThreads: 0 });
  const wrong = await refused.ingestJetStream({ servers: `nats://noack:wrong-pass@${at}`, stream: 'EV', untilCaughtUp: true }).then(() => null, (e: unknown) => e as Error);
  t.match(wrong, { code: 'ERR_KEYFLOW_CONFIG', message: new RegExp(`cannot connect to NATS at nats://${at} `) }, 'a wrong password is refused, naming the server');
  t.notMatch(wrong?.message, /wrong-pass/, 'without the password');
  await refused.stop();

  const half = EVENTS / 2;
  const publish = (list: NexmarkEvent[]) => publishAll(js, () => 'ev', list.map((e) => JSON.stringify(e)));
  const run = async (source: { servers: string; user?: string; pass?: string }, atEnd: 'hold' | 'publish') => {
    const engine = await start({ module: fixture('nexmark'), stateDir, sourceThreads: 1 });
    await engine.publishResultsTo('tumbling-bids', { servers: server.url, ...admin, subject: 'out', atEnd });
    await engine.ingestJetStream({ ...source, stream: 'EV', untilCaughtUp: true });
    return engine.stop();
  };
  await publish(events.slice(0, half));
  const first = await run({ servers: `nats://noack:n0-ack@${at}` }, 'hold');
  t.equal(first.events, half, 'the first run, with credentials in the URL, read the first half');
  t.equal((await jsm.streams.info('EV')).state.messages, half, 'its acknowledgements never arrived: the work queue holds every message');
  await publish(events.slice(half));
  const second = await run({ servers: server.url, ...admin }, 'publish');
  t.equal(second.events, EVENTS - half, 'the second, with credentials as options, passed over those its checkpoint covered');
  t.equal(await emptied(jsm, 'EV'), 0, 'and acknowledged them with the rest');
  const results = (await readStream(js, jsm, 'OUT')).map((m) => JSON.parse(m.text));
  t.same(sorted(results), sorted(expected.results), 'every window once, complete');
});

t.test('on a work queue, a source with maxUnacknowledged messages waiting for their acknowledgement asks for a checkpoint, which acknowledges them', { skip: missing ?? false }, async (t) => {
  const server = await NatsServer.start(t);
  const { nc, jsm } = await server.client(t);
  await jsm.streams.add({ name: 'EV', subjects: ['ev'], retention: RetentionPolicy.Workqueue });
  const maxUnacknowledged = 20_000;
  const messages = maxUnacknowledged + 20_000;
  // Published without waiting for each one's acknowledgement (the stream takes them as they come); a few
  // thousand distinct events over and over.
  const payloads = events.slice(0, 4000).map((e) => JSON.stringify(e));
  for (let i = 0; i < messages; i++) {
    nc.publish('ev', payloads[i % payloads.length]);
    if (i % 20_000 === 0) await nc.flush();
  }
  await nc.flush();
  for (let tries = 0; (await jsm.streams.info('EV')).state.messages < messages; tries++) {
    if (tries === 1500) throw new Error('the stream did not take every message');
    await new Promise((r) => setTimeout(r, 20));
  }
  const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-jetstream-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  // Neither time nor input size asks for a checkpoint here: only the source can.
  const engine = await start({ module: fixture('nexmark'), stateDir, snapshotEveryMs: 3_600_000, sourceThreads: 1 });
  engine.results('tumbling-bids').resume();
  await engine.ingestJetStream({ servers: server.url, stream: 'EV', batch: 5000, untilCaughtUp: true, maxUnacknowledged });
  // The checkpoint covers what was routed when it was asked for: how much was still on its way then depends
  // on the threads' timing (under load, a fourth of what was read), so only that some went is asserted.
  let left = messages;
  for (let tries = 0; tries < 1500 && left === messages; tries++, await new Promise((r) => setTimeout(r, 20))) left = (await jsm.streams.info('EV')).state.messages;
  t.ok(engine.checkpointStats().completed >= 1, 'a checkpoint was taken before the engine stopped');
  t.ok(left < messages, `it acknowledged the messages it covered: ${messages - left} of ${messages} gone from the work queue before the engine stopped`);
  const stopped = await engine.stop();
  t.equal(stopped.events, messages, 'every message read once');
  t.equal(await emptied(jsm, 'EV'), 0, 'the final checkpoint acknowledged the rest');
});

t.test('keyflow run --from a JetStream stream writes what --input of the same events writes', { skip: missing ?? false }, async (t) => {
  const server = await NatsServer.start(t);
  const { js, jsm } = await server.client(t);
  await jsm.streams.add({ name: 'EV', subjects: ['ev'] });
  const some = events.slice(0, 5_000);
  await publishAll(js, () => 'ev', some.map((e) => JSON.stringify(e)));
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-jetstream-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'events.ndjson'), some.map((e) => JSON.stringify(e) + '\n').join(''));
  const job = fileURLToPath(fixture('nexmark'));
  const common = ['--pipeline', 'tumbling-bids', '--late', '-'];
  const fromFile = await keyflow(['run', job, ...common, '--input', join(dir, 'events.ndjson'), '--output', join(dir, 'file.ndjson'), '--state', join(dir, 'file-state')]);
  t.equal(fromFile.code, 0, fromFile.stderr);
  const fromStream = await keyflow(['run', job, ...common, '--from', server.url, '--stream', 'EV', '--until-caught-up', '--output', join(dir, 'stream.ndjson'), '--state', join(dir, 'stream-state')]);
  t.equal(fromStream.code, 0, fromStream.stderr);
  const lines = async (name: string) => (await readFile(join(dir, name), 'utf8')).split('\n').filter(Boolean).sort();
  const windows = await lines('file.ndjson');
  t.ok(windows.length > 100, `${windows.length} windows`);
  t.same(await lines('stream.ndjson'), windows, 'the same windows');
  const late = (out: string) => out.split('\n').filter(Boolean).sort();
  t.ok(late(fromFile.stdout).length > 0, 'some bids are late');
  t.same(late(fromStream.stdout), late(fromFile.stdout), 'and the same late bids');
});

for (const retention of [RetentionPolicy.Limits, RetentionPolicy.Workqueue]) {
  t.test(`deliveries that never reach the source (taken from its consumer by another client) are read again, not passed over (${retention} retention)`, { skip: missing ?? false }, async (t) => {
    const server = await NatsServer.start(t);
    const { js, jsm } = await server.client(t);
    await jsm.streams.add({ name: 'EV', subjects: ['ev'], retention });
    await publishAll(js, () => 'ev', events.map((e) => JSON.stringify(e)));
    const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-jetstream-'));
    t.teardown(() => rm(stateDir, { recursive: true, force: true }));
    const engine = await start({ module: fixture('nexmark'), stateDir, sourceThreads: 1 });
    const results: unknown[] = [];
    engine.results('tumbling-bids').on('data', (r) => results.push(r));
    // Small pulls, so that the read is still going when the messages are taken.
    const reading = engine.ingestJetStream({ servers: server.url, stream: 'EV', batch: 50, untilCaughtUp: true });
    // As a delivery lost with a connection would be: the consumer counts it delivered, the source never sees it.
    let taken = 0;
    for (let tries = 0; tries < 2_000 && taken === 0; tries++) {
      const info = await jsm.consumers.info('EV', 'keyflow-nats_EV').catch(() => null);
      if (info !== null && info.delivered.consumer_seq >= 1_000 && info.num_pending > 1_000) {
        const consumer = await js.consumers.get('EV', 'keyflow-nats_EV');
        try {
          for await (const m of await consumer.fetch({ max_messages: 300, expires: 1_000 })) if (m.seq > 0) taken++;
        } catch {
          // The source made its consumer anew under this pull: what it delivered by then is counted.
        }
      } else {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    await reading;
    await engine.stop();
    t.ok(taken > 0, `${taken} messages were taken from the source's consumer while it read`);
    t.same(sorted(results), sorted(expected.results), 'every window complete, as the reference');
    // Delivered to the source twice (by its consumer made anew), acknowledged at the final checkpoint all the same.
    if (retention === RetentionPolicy.Workqueue) t.equal(await emptied(jsm, 'EV'), 0, 'the work queue let go of every message');
  });
}

t.test('a stream with interest retention is refused: making the consumer anew would drop unread messages', { skip: missing ?? false }, async (t) => {
  const server = await NatsServer.start(t);
  const { js, jsm } = await server.client(t);
  await jsm.streams.add({ name: 'EV', subjects: ['ev'], retention: RetentionPolicy.Interest });
  await js.publish('ev', JSON.stringify(events[0]));
  const engine = await start({ module: fixture('nexmark'), sourceThreads: 0 });
  await t.rejects(engine.ingestJetStream({ servers: server.url, stream: 'EV', untilCaughtUp: true }), { code: 'ERR_KEYFLOW_CONFIG', message: /interest retention/ });
  await engine.stop();
});
