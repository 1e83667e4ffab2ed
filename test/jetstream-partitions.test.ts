/**
 * Processes sharing a JetStream stream's partitions (joinPartitions()), against a real nats-server: three
 * processes run 8 partitions; two of them are killed with SIGKILL at random moments, and the survivors take
 * their partitions over from the checkpoints kept in JetStream. Every window and late bid must be in the
 * output stream exactly once, by message id and by content, against the reference computed per partition.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { nodeCommand } from './helpers/node-child.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { partitionOf } from '../lib/index.js';
import { fixture, sorted } from './helpers/collect.js';
import { tumblingBidsReference } from './helpers/tumbling-bids.js';
import './helpers/start.js';
import { NatsServer, natsServerMissing, publishAll, readStream } from './helpers/nats-server.js';
import { within } from './helpers/wait.js';
import { CLI, keyflow, spawnNode } from './helpers/cli.js';

const CHILD = fileURLToPath(new URL('./fixtures/partition-child.js', import.meta.url));
const PARTITIONS = 8;
const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 9, outOfOrderMs: 3_000, eventsPerSecond: 1_000 }).batch(40_000);
/** Bids by their auction's partition, as a producer would publish them; other events to partition 0. */
const partition = (e: NexmarkEvent) => (e.kind === 'bid' ? partitionOf(e.bid.auction, PARTITIONS) : 0);
/** Each partition is a stream of its own, with a watermark of its own: the reference is computed per partition. */
const expected = Array.from({ length: PARTITIONS }, (_, p) => tumblingBidsReference(events.filter((e) => partition(e) === p)));

interface Change { partition?: number; event: string; detail?: string }

/** Who runs each partition, and whether it has caught up since it took it, from the processes' reports. */
class Owners {
  readonly owner: Array<string | null> = Array(PARTITIONS).fill(null);
  readonly caughtUp: boolean[] = Array(PARTITIONS).fill(false);
  private waiters: Array<() => void> = [];

  change(who: string, c: Change): void {
    if (c.partition === undefined) return;
    const p = c.partition;
    if (c.event === 'taken') [this.owner[p], this.caughtUp[p]] = [who, false];
    if (c.event === 'caught-up' && this.owner[p] === who) this.caughtUp[p] = true;
    if (c.event === 'lost' && this.owner[p] === who) this.owner[p] = null;
    this.notify();
  }

  /** `who` is gone: its partitions have no owner. */
  gone(who: string): void {
    this.owner.forEach((o, p) => { if (o === who) this.owner[p] = null; });
    this.notify();
  }

  until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(() => { if (done()) resolve(); }));
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }
}

t.test('three processes share 8 partitions, two are killed, the others take over: every window and late bid once', { skip: natsServerMissing() ?? false }, async (t) => {
  const server = await NatsServer.start(t);
  const { js, jsm } = await server.client(t);
  await jsm.streams.add({ name: 'EV', subjects: ['ev.>'] });
  await jsm.streams.add({ name: 'OUT', subjects: ['out.>'], duplicate_window: 600e9 });
  await publishAll(js, (i) => `ev.${partition(events[i])}`, events.map((e) => JSON.stringify(e)));
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-partitions-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  const owners = new Owners();
  const kids = new Map<string, { child: ChildProcess; exited: Promise<number | null>; stderr: string[] }>();
  const spawnKid = (name: string, prefer: number[]) => {
    const child = spawn(...nodeCommand([CHILD, server.url, join(dir, name), prefer.join(',')]), { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (pending + d.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) owners.change(name, JSON.parse(line) as Change);
    });
    child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.teardown(() => { child.kill('SIGKILL'); });
    kids.set(name, { child, exited, stderr });
  };
  const everyPartition = (alive: string[]) => owners.owner.every((o, p) => o !== null && alive.includes(o) && owners.caughtUp[p]);
  // The moments of the kills: a seed of its own each run, said, so a failing run can be replayed.
  let seed = Number(process.env.KEYFLOW_TEST_SEED ?? 1 + (Date.now() % 100_000));
  t.comment(`seed ${seed} (KEYFLOW_TEST_SEED)`);
  const randomMs = (most: number) => Math.floor(((seed = (seed * 16807) % 2147483647) / 2147483647) * most);
  const kill = async (name: string) => {
    kids.get(name)!.child.kill('SIGKILL');
    await kids.get(name)!.exited;
    owners.gone(name);
  };

  spawnKid('A', [0, 1, 2]);
  spawnKid('B', [3, 4, 5]);
  spawnKid('C', [6, 7]);
  await within(owners.until(() => owners.owner.filter((o) => o !== null).length >= 6), 'the processes take their partitions', 60_000);
  await new Promise((r) => setTimeout(r, randomMs(1_500)));
  await kill('B');
  await within(owners.until(() => ['A', 'C'].every((k) => owners.owner.includes(k)) && !owners.owner.includes('B') && [3, 4].every((p) => owners.owner[p] !== null)),
    'A and C take over what B ran', 60_000);
  await new Promise((r) => setTimeout(r, randomMs(1_500)));
  await kill('A');
  await within(owners.until(() => everyPartition(['C'])), 'C takes over every partition and catches up on each', 90_000);
  t.pass(`C runs every partition: ${owners.owner.join(' ')}`);
  const inspected = await keyflow(['inspect', server.url, '--stream', 'EV']);
  t.equal(inspected.code, 0, inspected.stderr);
  const rows = inspected.stdout.split('\n').filter((l) => /^ {2}p\d: /.test(l));
  t.equal(rows.length, PARTITIONS, 'keyflow inspect lists the 8 partitions');
  t.ok(rows.every((r) => /lease held by .*; checkpoint \d+ of .* at nats:EV:ev\.\d \d+; lag 0 messages$/.test(r)), 'each held, with a checkpoint kept in JetStream and no lag');

  const c = kids.get('C')!;
  c.child.kill('SIGTERM');
  t.equal(await c.exited, 0, `C stops cleanly: ${c.stderr.join('')}`);
  const out = await readStream(js, jsm, 'OUT');
  t.equal(new Set(out.map((m) => m.id)).size, out.length, 'one message per id');
  const of = (kind: string) => out.filter((m) => m.id!.includes(`:${kind}:`)).map((m) => JSON.parse(m.text) as unknown);
  t.same(sorted(of('results')), sorted(expected.flatMap((e) => e.results)), 'every window once and complete');
  t.same(sorted(of('late')), sorted(expected.flatMap((e) => e.late)), 'every late bid once');
});

t.test('keyflow group runs a share of the partitions from the command line, and leaves the group on SIGTERM', { skip: natsServerMissing() ?? false }, async (t) => {
  const server = await NatsServer.start(t);
  const { js, jsm } = await server.client(t);
  await jsm.streams.add({ name: 'EV', subjects: ['ev.>'] });
  await jsm.streams.add({ name: 'OUT', subjects: ['out.>'], duplicate_window: 600e9 });
  const some = events.slice(0, 10_000);
  await publishAll(js, (i) => `ev.${partition(some[i])}`, some.map((e) => JSON.stringify(e)));
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-group-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const live = spawnNode([CLI, 'group', fileURLToPath(fixture('nexmark')), '--pipeline', 'tumbling-bids', '--from', server.url, '--stream', 'EV',
    '--subject-prefix', 'ev', '--partitions', String(PARTITIONS), '--results-to', 'out.results', '--late-to', 'out.late', '--state', dir,
    '--checkpoint-ms', '100', '--until-caught-up', '--at-end', 'publish']);
  await within(until(() => (live.stderr().match(/: caught-up/g) ?? []).length === PARTITIONS), 'every partition caught up', 60_000);
  live.child.kill('SIGTERM');
  const { code } = await live.done;
  t.equal(code, 143, 'it exits as a process ended by SIGTERM does');
  t.match(live.stderr(), /left the group: every partition checkpointed and let go/);
  const out = await readStream(js, jsm, 'OUT');
  const expectedHere = Array.from({ length: PARTITIONS }, (_, p) => tumblingBidsReference(some.filter((e) => partition(e) === p)));
  const of = (kind: string) => out.filter((m) => m.id!.includes(`:${kind}:`)).map((m) => JSON.parse(m.text) as unknown);
  t.same(sorted(of('results')), sorted(expectedHere.flatMap((e) => e.results)), 'every window once');
  t.same(sorted(of('late')), sorted(expectedHere.flatMap((e) => e.late)), 'every late bid once');
});

/** Resolves once `done()` holds, checked every 50 ms. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 50));
}
