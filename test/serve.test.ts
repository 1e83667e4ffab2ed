import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../lib/index.js';
import { start } from './helpers/start.js';
import { exitWithin, sample, servedAt, spawnKeyflow } from './helpers/cli.js';
import { fixture } from './helpers/collect.js';
import { until } from './helpers/wait.js';

t.test('keyflow run --serve: query and Prometheus metrics over real HTTP on loopback while the run lasts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-serve-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const run = spawnKeyflow(['run', fileURLToPath(fixture('process')), '--input', '-', '--output', join(dir, 'out.ndjson'),
    '--state', join(dir, 'state'), '--serve', '0', '--workers', '2']);
  const base = await servedAt(run);

  run.child.stdin.write('{"k":"a","t":1,"c":"r"}\n{"k":"a","t":2,"c":"g"}\n{not json\n{"k":"b","t":3,"c":"r"}\n');
  // Results reach the main thread after their input is durable: wait for them as well as for the input.
  const metrics = await until('3 events in and their results out', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return sample(text, 'keyflow_events_in_total') === 3 && (sample(text, 'keyflow_events_out_total{pipeline="counter"}') ?? 0) >= 3 ? text : undefined;
  });
  t.equal(sample(metrics, 'keyflow_events_in_total'), 3);
  t.equal(sample(metrics, 'keyflow_events_out_total{pipeline="counter"}'), 3, 'counter emits one result per event');
  t.equal(sample(metrics, 'keyflow_input_errors_total'), 1, 'the line that is not JSON');
  t.equal(sample(metrics, 'keyflow_errors_total{pipeline="counter"}'), 0);
  t.equal(sample(metrics, 'keyflow_late_events_total{pipeline="counter"}'), 0);
  t.ok((sample(metrics, 'keyflow_wal_bytes') ?? 0) > 0, 'the WAL holds the input');
  t.ok((sample(metrics, 'keyflow_watermark_lag_seconds{pipeline="counter"}') ?? 0) > 1e9 / 1000, 'watermark 2 ms after the epoch: decades behind the clock');
  t.match(metrics, /keyflow_ring_occupancy_ratio\{actor="1",ring="input"\} \d/);
  t.match(metrics, /# TYPE keyflow_checkpoint_duration_seconds gauge/);
  t.match(metrics, /keyflow_process_resident_memory_bytes \d+/, 'and the standard process metrics');

  const a = await until("a's state", async () => {
    const res = await fetch(`${base}/query/counter?key=a`);
    const body = await res.json() as { values?: { n?: number } };
    return res.status === 200 && body.values?.n === 2 ? body : undefined;
  });
  t.same(a, { key: 'a', values: { n: 2 }, maps: { colours: [['r', 1], ['g', 1]] }, lists: { times: [1, 2] } });
  const none = await fetch(`${base}/query/counter?key=nobody`);
  t.equal(none.status, 404);
  const unknown = await fetch(`${base}/query/nope?key=a`);
  t.equal(unknown.status, 404);
  t.match(await unknown.json(), { code: 'ERR_KEYFLOW_UNKNOWN_PIPELINE' });
  t.equal((await fetch(`${base}/elsewhere`)).status, 404);

  run.child.stdin.end();
  t.same(await exitWithin(run), { code: 0, signal: null }, run.stderr());
  await t.rejects(fetch(`${base}/metrics`), 'the server closes with the run');
});

t.test('serve(): numeric keys, operator state, and loopback only', async (t) => {
  const engine = await start({ module: fixture('operator-state'), workers: 2 });
  const serving = await serve(engine, { port: 0 });
  t.teardown(async () => { await serving.close(); await engine.stop(); });
  t.match(serving.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  await engine.ingest([{ k: 7, v: 1 }, { k: '7', v: 2 }]);
  const state = await until('operator state', async () => {
    const lists = await (await fetch(`${serving.url}/operator-state/buffered`)).json() as Array<{ buffer: number[] }>;
    return lists.flatMap((l) => l.buffer ?? []).length === 2 ? lists : undefined;
  });
  t.same(state.flatMap((l) => l.buffer ?? []).sort(), [1, 2]);
});
