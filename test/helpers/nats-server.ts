/**
 * A real NATS server with JetStream on loopback, for the tests of the JetStream source and sink: started
 * on a free port with a store directory of its own, restartable on the same port and store, stopped at
 * the test's end. `.ci/run` installs nats-server when it is missing; where it cannot be run, the tests
 * skip saying so.
 */
import type { Test } from 'tap';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort, runNatsServer } from '../../benchmarks/nats-server.js';
import { jetstream, jetstreamManager, type JetStreamManager, type JetStreamClient, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';

/** Why nats-server cannot run here, or null if it can. */
export function natsServerMissing(): string | null {
  const probe = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  return probe.error ? `nats-server cannot be run here (${probe.error.message}); .ci/run installs it from Debian's packages` : null;
}

export class NatsServer {
  private process: ChildProcess | null = null;

  private constructor(readonly port: number, private readonly store: string, private readonly config?: string) {}

  /** A server on a free port, stopped (and its store removed) when `t` ends; `config`: the text of a configuration file. */
  static async start(t: Test, config?: string): Promise<NatsServer> {
    const store = await mkdtemp(join(tmpdir(), 'keyflow-nats-'));
    let file: string | undefined;
    if (config !== undefined) await writeFile((file = join(store, 'server.conf')), config);
    const server = new NatsServer(await freePort(), store, file);
    t.teardown(async () => {
      await server.stop();
      await rm(store, { recursive: true, force: true });
    });
    await server.run();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Stop and start again on the same port and store (what JetStream holds survives); `config`: its configuration file's new text. */
  async restart(downMs = 0, config?: string): Promise<void> {
    await this.stop();
    if (config !== undefined) {
      if (this.config === undefined) throw new Error('a server started without a configuration file keeps running without one');
      await writeFile(this.config, config);
    }
    await new Promise((r) => setTimeout(r, downMs));
    await this.run();
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (p === null) return;
    this.process = null;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }

  /** A client connection, closed when `t` ends, with JetStream's client and manager. */
  async client(t: Test, credentials: { user?: string; pass?: string } = {}): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }> {
    const nc = await connect({ servers: this.url, ...credentials, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    t.teardown(() => nc.close());
    return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
  }

  private async run(): Promise<void> {
    this.process = await runNatsServer(this.port, this.store, this.config);
  }

}

/** Every message of `stream` (from its first), as payload text and message id. */
export async function readStream(js: JetStreamClient, jsm: JetStreamManager, stream: string): Promise<Array<{ text: string; id: string | undefined }>> {
  const total = (await jsm.streams.info(stream)).state.messages;
  const name = `read-${Math.random().toString(36).slice(2)}`;
  await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
  const consumer = await js.consumers.get(stream, name);
  const out: Array<{ text: string; id: string | undefined }> = [];
  while (out.length < total) {
    for await (const m of await consumer.fetch({ max_messages: Math.min(5000, total - out.length), expires: 2000 })) {
      out.push({ text: m.string(), id: m.headers?.get('Nats-Msg-Id') });
    }
  }
  await jsm.consumers.delete(stream, name);
  return out;
}

/** The messages a stream holds once the acknowledgements sent to it have arrived (0 on a work queue read to its end). */
export async function emptied(jsm: JetStreamManager, stream: string): Promise<number> {
  let n = -1;
  for (let tries = 0; tries < 500 && n !== 0; tries++, await new Promise((r) => setTimeout(r, 20))) n = (await jsm.streams.info(stream)).state.messages;
  return n;
}

/**
 * Publish `payloads` (the i-th to `subjectOf(i)`), a thousand in flight at a time: sent all at once,
 * thousands of requests wait behind one another and time out on a loaded machine.
 */
export async function publishAll(js: JetStreamClient, subjectOf: (i: number) => string, payloads: string[]): Promise<void> {
  for (let i = 0; i < payloads.length; i += 1000) await Promise.all(payloads.slice(i, i + 1000).map((p, j) => js.publish(subjectOf(i + j), p)));
}
