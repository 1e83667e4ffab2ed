import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/cli.js';

const RUN = fileURLToPath(new URL('../benchmarks/run.js', import.meta.url));
const WORKLOADS = ['q0', 'q1', 'q2', 'tumbling-bids', 'q5-sliding', 'q5-hot-items', 'q7-highest', 'q11-sessions', 'q3-join', 'q8-window-join', 'q9-winning-bids', 'q4-category-average'];
/** Workloads of several keyings, which the naive postMessage design cannot run. */
const SHUFFLING = ['q4-category-average'];
const implementationsOf = (w: string) => ['keyflow (none)', 'keyflow (batch)', 'keyflow (batch, new threads)', 'plain loop', ...(SHUFFLING.includes(w) ? [] : ['postMessage'])];

t.test('npm run bench -- --quick (on 20,000 events) runs every workload, baseline and section (speed is not asserted)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-bench-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'bench.json');
  const { code, stdout, stderr } = await runNode([RUN, '--quick', '--events', '20000', '--out', out], { timeoutMs: 180_000 });
  t.equal(code, 0, stderr);
  t.match(stdout, /\| workload \| implementation \| events\/s \| per core \|/);
  const report = JSON.parse(await readFile(out, 'utf8'));
  t.same(Object.keys(report.workloads).sort(), [...WORKLOADS].sort(), 'every workload');
  for (const w of WORKLOADS) {
    const implementations = implementationsOf(w);
    t.same(Object.keys(report.workloads[w]).sort(), implementations.sort(), `${w}: keyflow and the baselines that can run it`);
    const counts = implementations.map((i) => report.workloads[w][i].results);
    t.ok(counts.every((c) => c === counts[0]) && counts[0] > 0, `${w}: every implementation produced the same ${counts[0]} results`);
    for (const i of implementations) {
      const s = report.workloads[w][i];
      t.ok(s.eventsPerSecond > 0 && s.perCore > 0 && s.peakRssMb > 0 && s.p99 >= s.p50, `${w} / ${i}: rates, latency and memory recorded`);
    }
  }
  t.equal(report.targets.length, WORKLOADS.length, 'a target line per workload');
  t.ok(report.targets.every((r: { newThreads: number }) => r.newThreads > 0), 'each target also measured on new threads');

  t.match(stdout, /Steady state: keyflow[^]*\| q3-join \|[^]*Not measured so: q9-winning-bids, q4-category-average/);
  const steady = report.steadyState as Array<{ workload: string; steady: number[] }>;
  const flinkTargets = WORKLOADS.filter((w) => !['tumbling-bids', 'q9-winning-bids', 'q4-category-average'].includes(w));
  t.same(steady.map((r) => r.workload), flinkTargets, 'steady state for every Flink target but those of auctions\' windows');
  t.ok(steady.every((r) => r.steady.length === 1 && r.steady[0] > 0), 'a per-core figure for each');

  t.match(stdout, /CLI path: `keyflow run`[^]*\| keyflow run \|[^]*\| plain script \|[^]*Calling thread[^]*busy \d+ %/);
  const { cliPath } = report;
  t.ok(cliPath.identical && cliPath.results > 0, `keyflow run and the plain script wrote the same ${cliPath.results} results`);
  for (const impl of ['keyflow run', 'plain script']) {
    const m = cliPath.runs[impl];
    t.ok(m.eventsPerSecond[0] > 0 && m.cpuSeconds[0] > 0 && m.peakRssMb[0] > 0, `CLI path / ${impl}: rate, CPU and memory recorded`);
  }
  t.ok(cliPath.speedRatio > 0 && cliPath.cpuRatio > 0, 'CLI path: ratios to the plain script');
  const busy = cliPath.callingThread.busy;
  t.ok(busy > 0 && busy <= 1 && cliPath.callingThread.gc < busy, `calling thread busy ${busy} of the run, from its profile`);
  t.ok(cliPath.callingThread.top.length > 0, 'where the calling thread spent its time');
  t.same(cliPath.callingThreadRuns.length, cliPath.runs['keyflow run'].eventsPerSecond.length, 'a profiled run per timed run');
  // Read from /proc: Linux only.
  if (process.platform === 'linux') {
    const onCpu = cliPath.callingThreadCpu as number[];
    t.ok(onCpu.length === cliPath.runs['keyflow run'].eventsPerSecond.length && onCpu.every((s) => s > 0 && s < 1), `the calling thread's own CPU time in each timed run (${onCpu.map((s) => s.toFixed(2)).join(', ')} of the run)`);
    t.match(stdout, /The calling thread's own CPU time in the timed runs \(from \/proc[^]*\d+ % of the run in the median one/);
  }

  t.match(stdout, /Scaling of the CLI path[^]*\| 0 \(calling thread\) \| 1 \|[^]*Projection[^]*\| 16 \|/);
  const { scaling } = report;
  t.ok(scaling.rows.length === 6 && scaling.rows.every((r: { eventsPerSecond: number }) => r.eventsPerSecond > 0), 'every source-thread and worker count measured');
  const { source, actors, calling } = scaling.stageMicros;
  t.ok(source > 0 && actors > 0 && calling > 0, `CPU per event of each stage (${source.toFixed(2)} / ${actors.toFixed(2)} / ${calling.toFixed(2)} µs)`);
  t.same(scaling.projection.map((p: { cores: number }) => p.cores), [2, 8, 16], 'projected for 2, 8 and 16 cores');

  t.match(stdout, /Rings: keyflow's ring against ringbuf\.js[^]*\| 64 B \|[^]*\| 131,072 B \|/);
  const rows = report.rings.rows as Array<{ impl: string; size: number; recordsPerSecond: number[] }>;
  t.same([...new Set(rows.map((r) => r.impl))], ['keyflow', 'ringbuf.js'], 'both rings measured');
  t.ok(rows.every((r) => r.recordsPerSecond[0] > 0), 'every ring and message size has a rate');

  t.match(stdout, /Frame codec: [^]*\| \d+ ns \| \d+ ns \| \d+ ns \| < 150 ns \|/);
  const codec = report.frameCodec;
  t.ok(codec.encodeNs[0] > 0 && codec.decodeNs[0] > 0 && codec.frameBytes > 0, 'frame codec: both halves timed');
  t.ok(Math.abs(codec.totalNs[0] - codec.encodeNs[0] - codec.decodeNs[0]) < 1e-6, 'frame codec: both = encode + decode');
  t.match(stdout, /Into a blackhole [^]*\| q0 \|[^]*\| q2 \|/);
  for (const { workload, stream, blackhole } of report.blackhole.rows) {
    t.ok(blackhole.results === stream.results && blackhole.results === report.workloads[workload]['plain loop'].results, `${workload}: the blackhole counted every result`);
    t.ok(blackhole.perCore[0] > 0 && stream.perCore[0] > 0, `${workload}: both measured`);
  }
  const { jetstream } = report;
  if ('skipped' in jetstream) t.match(stdout, /JetStream in and out: skipped: /, `JetStream: ${jetstream.skipped}`);
  else {
    t.match(stdout, /JetStream in and out: [^]*\| keyflow \|[^]*\| plain consumer loop \|/);
    t.ok(jetstream.keyflow.eventsPerSecond[0] > 0 && jetstream.plain.eventsPerSecond[0] > 0, 'JetStream: both measured');
    t.ok(jetstream.keyflow.results > 0 && jetstream.keyflow.results === jetstream.plain.results, `JetStream: the same windows published (${jetstream.keyflow.results})`);
  }
  t.same(report.durability.throughput.map((x: { durability: string }) => x.durability), ['none', 'batch', 'sync', 'batch, 2 ingest() calls in flight']);
  t.ok(report.durability.recovery[0].recoverMs[0] > 0, 'recovery time measured');
  const { ttl, backends } = report.lifecycle;
  const last = (name: string) => ttl.samples[name].at(-1);
  t.ok(last('with-ttl').keys < last('no-ttl').keys / 4, `with a TTL, live keys stay bounded (${last('with-ttl').keys} against ${last('no-ttl').keys})`);
  t.equal(ttl.samples['with-ttl'].length, ttl.samples['no-ttl'].length);
  t.match(await readFile(join(dir, 'ttl-memory.svg'), 'utf8'), /^<svg[^]*<polyline[^]*with-ttl[^]*no-ttl[^]*<\/svg>\n$/, 'the chart is written next to the JSON');
  t.same(backends.map((b: { backend: string }) => b.backend), ['memory', 'lmdb']);
  t.ok(backends.every((b: { eventsPerSecond: number[] }) => b.eventsPerSecond[0] > 0), 'both backends measured');
});
