/**
 * JetStream in and out: bids per auction read from a JetStream stream and its windows published to another,
 * exactly once, by keyflow (ingestJetStream() and publishResultsTo(), durability batch) against a plain
 * JetStream consumer loop doing the same aggregation (pull, JSON.parse, one Map, every window published with
 * a message id at the end), both in this process, against a real nats-server on loopback started here.
 * Skipped, saying so, where nats-server cannot be run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { start } from '../lib/index.js';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import { JOB } from './child.js';
import { BidWindows } from './baselines/bid-windows.js';
import { fmt, median } from './stats.js';
import { freePort, runNatsServer } from './nats-server.js';

export type JetStreamReport = { skipped: string } | {
  events: number;
  keyflow: { eventsPerSecond: number[]; cpuSeconds: number[]; results: number };
  plain: { eventsPerSecond: number[]; cpuSeconds: number[]; results: number };
};

export async function jetstreamBench(events: number, runs: number): Promise<JetStreamReport> {
  const probe = spawnSync('nats-server', ['--version']);
  if (probe.error) return { skipped: `nats-server cannot be run here (${probe.error.message})` };
  const store = await mkdtemp(join(tmpdir(), 'keyflow-bench-nats-'));
  const port = await freePort();
  const server = await runNatsServer(port, store);
  const url = `nats://127.0.0.1:${port}`;
  const nc = await connect({ servers: url });
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'EV', subjects: ['ev'] });
    await jsm.streams.add({ name: 'OUT', subjects: ['out.>'] });
    const generator = new NexmarkGenerator({ seed: 1 });
    for (let sent = 0; sent < events; sent += 1000) {
      await Promise.all(generator.batch(Math.min(1000, events - sent)).map((e) => js.publish('ev', JSON.stringify(e))));
    }
    const report = { events, keyflow: { eventsPerSecond: [] as number[], cpuSeconds: [] as number[], results: 0 }, plain: { eventsPerSecond: [] as number[], cpuSeconds: [] as number[], results: 0 } };
    for (let r = 0; r < runs; r++) {
      for (const impl of ['keyflow', 'plain'] as const) {
        await jsm.streams.purge('OUT');
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        if (impl === 'keyflow') await viaKeyflow(url, r);
        else await viaPlainLoop(js, jsm, events, r);
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        report[impl].eventsPerSecond.push(events / seconds);
        report[impl].cpuSeconds.push((cpu.user + cpu.system) / 1e6);
        report[impl].results = (await jsm.streams.info('OUT')).state.messages;
        process.stderr.write(`  jetstream / ${impl}: run ${r + 1}/${runs}: ${fmt(events / seconds)} events/s\n`);
      }
    }
    return report;
  } finally {
    await nc.close();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(store, { recursive: true, force: true });
  }
}

async function viaKeyflow(url: string, run: number): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-bench-js-'));
  try {
    const engine = await start({ module: JOB, stateDir });
    await engine.publishResultsTo('bids-per-auction', { servers: url, subject: 'out.keyflow', atEnd: 'publish' });
    await engine.ingestJetStream({ servers: url, stream: 'EV', consumer: `keyflow-${run}`, batch: 1000, untilCaughtUp: true });
    await engine.stop();
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** What one would write instead: pull, parse, one Map of windows, every window published (with an id) at the end, then acknowledge. */
async function viaPlainLoop(js: JetStreamClient, jsm: JetStreamManager, events: number, run: number): Promise<void> {
  const durable = `plain-${run}`;
  await jsm.consumers.add('EV', { durable_name: durable, ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All, max_ack_pending: -1 });
  const consumer = await js.consumers.get('EV', durable);
  const windows = new BidWindows();
  let read = 0;
  let last: { ack(): void } | null = null;
  while (read < events) {
    for await (const m of await consumer.fetch({ max_messages: Math.min(1000, events - read), expires: 1000 })) {
      read++;
      last = m;
      const e = m.json<{ kind: string; bid?: { auction: number; price: number; dateTime: number } }>();
      if (e.kind === 'bid') windows.add(e.bid!.auction, e.bid!.price, e.bid!.dateTime);
    }
  }
  const all = [...windows.windows.entries()];
  for (let i = 0; i < all.length; i += 1000) {
    await Promise.all(all.slice(i, i + 1000).map(([id, w]) => js.publish('out.plain', JSON.stringify(w), { msgID: `${run}:${id}` })));
  }
  last?.ack();
}

export function jetstreamTable(r: JetStreamReport, runs: number): string {
  if ('skipped' in r) return `JetStream in and out: skipped: ${r.skipped}.`;
  const k = median(r.keyflow.eventsPerSecond);
  const p = median(r.plain.eventsPerSecond);
  return [
    `JetStream in and out: bids per auction over a stream of ${fmt(r.events)} Nexmark events on a local nats-server, windows published to another stream with message ids; keyflow (durability batch, exactly once) against a plain consumer loop; median of ${runs}:`,
    '',
    '| implementation | events/s | vs plain loop | CPU (this process) | windows published |',
    '|---|---|---|---|---|',
    `| keyflow | ${fmt(k)} | ${(k / p).toFixed(2)}× | ${median(r.keyflow.cpuSeconds).toFixed(2)} s | ${fmt(r.keyflow.results)} |`,
    `| plain consumer loop | ${fmt(p)} | 1.00× | ${median(r.plain.cpuSeconds).toFixed(2)} s | ${fmt(r.plain.results)} |`,
  ].join('\n');
}
