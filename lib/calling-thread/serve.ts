import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { walBytes } from '../shared/durability/wal.js';
import type { Engine } from './engine.js';
import { KeyflowError, codes } from '../shared/errors.js';

export interface ServeOptions {
  /** TCP port on 127.0.0.1 (0: any free port; see the returned address). */
  port: number;
}

export interface Serving {
  /** e.g. http://127.0.0.1:9464 */
  url: string;
  close(): Promise<void>;
}

/**
 * HTTP on loopback for a running engine:
 *
 *   GET /metrics                          Prometheus text format (prom-client)
 *   GET /query/<pipeline>?key=<key>       engine.query(); the key is read as JSON if it parses
 *                                         (?key=1007 is the number, ?key="1007" the string), else as text
 *   GET /operator-state/<pipeline>        engine.operatorState()
 *
 * It listens on 127.0.0.1 only: state and metrics are for this host's scrapers and tools.
 */
export async function serve(engine: Engine, options: ServeOptions): Promise<Serving> {
  const registry = metricsRegistry(engine);
  const server = createServer((req, res) => {
    handle(engine, registry, req, res).catch((err: unknown) => reply(res, err instanceof BadRequest ? 400 : 500, { error: err instanceof BadRequest ? err.message : String(err) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

async function handle(engine: Engine, registry: Registry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET') return reply(res, 405, { error: 'only GET is served' });
  const [, route, name, ...rest] = url.pathname.split('/').map((part) => decodeStrictly(part, 'the path'));
  if (route === 'metrics' && name === undefined) {
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(await registry.metrics());
    return;
  }
  if (route === 'query' && name && rest.length === 0) {
    const raw = queryParam(url, 'key');
    if (raw === null) return reply(res, 400, { error: 'query needs ?key=' });
    return answer(res, () => engine.query(name, parseKey(raw)));
  }
  if (route === 'operator-state' && name && rest.length === 0) return answer(res, () => engine.operatorState(name));
  reply(res, 404, { error: `no such endpoint: ${url.pathname} (try /metrics, /query/<pipeline>?key=…, /operator-state/<pipeline>)` });
}

async function answer(res: ServerResponse, ask: () => Promise<unknown>): Promise<void> {
  try {
    const value = await ask();
    reply(res, value === undefined ? 404 : 200, value === undefined ? { error: 'no state for this key' } : value);
  } catch (err) {
    const status = err instanceof KeyflowError && (err.code === codes.UNKNOWN_PIPELINE || err.code === codes.CONFIG) ? 404 : 500;
    reply(res, status, { error: err instanceof Error ? err.message : String(err), ...(err instanceof KeyflowError ? { code: err.code } : {}) });
  }
}

/** A request that cannot be understood as sent (answered 400, with what is wrong). */
class BadRequest extends Error {}

/** Percent-decoding that refuses a malformed sequence rather than guess (%E0%A4%A is not a character). */
function decodeStrictly(text: string, where: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new BadRequest(`malformed percent-encoding in ${where}: '${text}' (encode the text as UTF-8, each byte as %XX)`);
  }
}

/**
 * The first value of a query parameter, or null. URLSearchParams turns malformed percent-encoding into
 * U+FFFD, which would quietly ask for another key: decoded strictly here instead.
 */
function queryParam(url: URL, name: string): string | null {
  for (const pair of url.search.slice(1).split('&')) {
    const eq = pair.indexOf('=');
    const [k, v] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    if (decodeStrictly(k.replace(/\+/g, ' '), 'the query') === name) return decodeStrictly(v.replace(/\+/g, ' '), `?${name}=`);
  }
  return null;
}

function parseKey(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The engine's metrics, read from it at each scrape (nothing is counted twice on the hot path). */
function metricsRegistry(engine: Engine): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'keyflow_' });
  const m = () => engine.metrics();
  const perPipeline = (name: string, help: string, pick: (p: ReturnType<typeof m>['pipelines'][number]) => number) =>
    new Counter({
      name, help, labelNames: ['pipeline'], registers: [registry],
      collect() {
        this.reset();
        for (const p of m().pipelines) this.inc({ pipeline: p.name }, pick(p));
      },
    });
  const total = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  total('keyflow_events_in_total', 'Events ingested', () => m().eventsIn);
  perPipeline('keyflow_events_out_total', 'Results emitted, per pipeline', (p) => p.results);
  perPipeline('keyflow_late_events_total', 'Events that arrived after their windows closed, per pipeline', (p) => p.late);
  perPipeline('keyflow_errors_total', 'Dead letters, per pipeline', (p) => p.errors);
  total('keyflow_input_errors_total', 'Dead letters of input that reached no pipeline (not JSON)', () => m().inputErrors);
  new Gauge({
    name: 'keyflow_ring_occupancy_ratio', help: 'How full each actor ring is (0 to 1)', labelNames: ['actor', 'ring'], registers: [registry],
    collect() {
      for (const r of m().rings) {
        this.set({ actor: String(r.actor), ring: 'input' }, r.input / r.capacity);
        this.set({ actor: String(r.actor), ring: 'output' }, r.output / r.capacity);
      }
    },
  });
  new Gauge({
    name: 'keyflow_watermark_lag_seconds', help: 'Wall clock minus the watermark, per pipeline with event time', labelNames: ['pipeline'], registers: [registry],
    collect() {
      this.reset();
      for (const p of m().pipelines) if (Number.isFinite(p.watermark)) this.set({ pipeline: p.name }, (Date.now() - p.watermark) / 1000);
    },
  });
  new Gauge({
    name: 'keyflow_source_lag_messages', help: 'Messages a broker source has not read yet, per source (a JetStream stream and subject)', labelNames: ['source'], registers: [registry],
    collect() {
      this.reset();
      for (const { source, messages } of m().sourceLag) this.set({ source }, messages);
    },
  });
  new Gauge({
    name: 'keyflow_wal_bytes', help: 'Bytes of write-ahead log on disk', registers: [registry],
    collect() { this.set(engine.stateDir ? walBytes(engine.stateDir) : 0); },
  });
  new Gauge({ name: 'keyflow_checkpoint_duration_seconds', help: 'How long the latest checkpoint took', registers: [registry], collect() { this.set(m().checkpoints.lastDurationMs / 1000); } });
  new Gauge({ name: 'keyflow_snapshot_pause_seconds', help: 'The longest an actor stopped processing for a snapshot', registers: [registry], collect() { this.set(m().checkpoints.longestPauseMs / 1000); } });
  total('keyflow_checkpoints_total', 'Completed checkpoints', () => m().checkpoints.completed);
  return registry;
}
