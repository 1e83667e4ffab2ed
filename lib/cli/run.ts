import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { serve, type Serving } from '../serve.js';
import { start } from '../start.js';
import type { DeadLetter } from '../dead-letter.js';
import type { Durability } from '../actor/init.js';
import type { OnError } from '../options.js';
import { NdjsonSink } from '../sinks/ndjson.js';
import { ndjsonBatches } from '../sources/ndjson.js';
import { Progress } from './progress.js';
import { RunStop } from './run-stop.js';
import { formatSummary } from './summary.js';

export interface RunArgs {
  module: string;
  pipelines?: string[];
  input: string;
  output: string;
  late?: string;
  errors?: string;
  workers?: number;
  maxKeyGroups?: number;
  onError?: OnError;
  /** Durable state: resume after a crash from where the input was, and write the output exactly once. */
  state?: string;
  durability?: Durability;
  /** With state: if the latest checkpoint's snapshot is corrupt, resume from the one before it. */
  repair?: boolean;
  /** Serve query and Prometheus metrics on this loopback port while the run lasts (0: any free port). */
  serve?: number;
  /** Fail the run when one user-function call runs this long without progress (0: no limit). */
  maxCallMs?: number;
}

/** A `keyflow run` never hangs on a user function that never returns: it fails after this by default. */
const DEFAULT_MAX_CALL_MS = 60_000;

const SHOWN_ERRORS = 5;

/** `keyflow run`: NDJSON events in, NDJSON results out, a progress bar and a summary on stderr. */
export async function run(args: RunArgs): Promise<number> {
  const engine = await start({
    module: args.module,
    ...(args.pipelines?.length ? { pipelines: args.pipelines } : {}),
    ...(args.workers === undefined ? {} : { workers: args.workers }),
    ...(args.maxKeyGroups === undefined ? {} : { maxKeyGroups: args.maxKeyGroups }),
    onError: args.onError ?? 'skip',
    maxCallMs: args.maxCallMs ?? DEFAULT_MAX_CALL_MS,
    ...(args.state ? { stateDir: args.state, ...(args.durability ? { durability: args.durability } : {}), ...(args.repair ? { repair: true } : {}) } : {}),
  });
  const source = args.input === '-' ? 'stdin' : basename(args.input);
  // With state, a file output is written exactly once across crashes (results are numbered, and the
  // file is cut back to what was committed); stdout cannot be cut back, so it gets what comes.
  const exactlyOnce = args.state !== undefined && args.output !== '-';
  if (exactlyOnce && engine.pipelines.length > 1) {
    await engine.stop().catch(() => {});
    throw new Error('with --state and an output file, run one pipeline (pick it with --pipeline)');
  }
  if (exactlyOnce) engine.writeResultsTo(engine.pipelines[0].name, args.output);
  let serving: Serving | null = null;
  if (args.serve !== undefined) {
    serving = await serve(engine, { port: args.serve }).catch(async (err: unknown) => {
      await engine.stop().catch(() => {});
      throw err;
    });
    process.stderr.write(`serving ${serving.url}/metrics and ${serving.url}/query/<pipeline>?key=…\n`);
  }
  // Lines up to here are in the restored checkpoint; those after it the actors skip if they have them.
  const resumeAfter = args.state ? engine.resumePosition(source) ?? 0 : 0;
  if (resumeAfter > 0) process.stderr.write(`resuming ${source} after line ${resumeAfter}\n`);
  const sink = exactlyOnce ? null : new NdjsonSink(args.output);
  const lateSink = args.late ? new NdjsonSink(args.late) : null;
  const errorSink = args.errors ? new NdjsonSink(args.errors) : null;
  const several = engine.pipelines.length > 1;
  let shown = 0;

  const drains: Promise<void>[] = [];
  for (const p of engine.pipelines) {
    if (sink) {
      drains.push((async () => {
        for await (const r of engine.results(p.name)) await sink.write(several ? { pipeline: p.name, result: r } : r);
      })());
    }
    if (lateSink) {
      drains.push((async () => {
        for await (const e of engine.late(p.name)) await lateSink.write(several ? { pipeline: p.name, event: e } : e);
      })());
    }
  }
  drains.push((async () => {
    for await (const e of engine.errors() as AsyncIterable<DeadLetter>) {
      if (shown++ < SHOWN_ERRORS) process.stderr.write(`error: ${e.message}\n`);
      if (errorSink) await errorSink.write(e);
    }
  })());

  const total = args.input === '-' ? 0 : statSync(args.input).size;
  const progress = new Progress(total, 'bytes');
  const t0 = performance.now();
  let code = 0;
  const stop = new RunStop(args.output === '-');
  try {
    const input = args.input === '-' ? process.stdin : createReadStream(args.input, { highWaterMark: 1 << 20 });
    for await (const batch of stop.until(ndjsonBatches(input), input)) {
      for (const bad of batch.bad) if (bad.line > resumeAfter) engine.reportBadInput({ ...bad, source });
      const from = resumeAfter === 0 ? 0 : batch.lines.findIndex((line) => line > resumeAfter);
      if (from < 0) continue;
      const events = from === 0 ? batch.events : batch.events.slice(from);
      const lines = from === 0 ? batch.lines : batch.lines.slice(from);
      await engine.ingest(events, args.state ? { sourceId: source, lines } : { source, lines });
      progress.update(batch.bytes, engine.stats().events / ((performance.now() - t0) / 1000));
    }
    const summary = await engine.stop();
    progress.stop();
    await Promise.all(drains);
    if (shown > SHOWN_ERRORS) process.stderr.write(`… and ${shown - SHOWN_ERRORS} more errors${errorSink ? ` (all in ${args.errors})` : ''}\n`);
    if (stop.reason !== 'EPIPE') process.stderr.write(formatSummary(summary) + '\n');
    code = stop.exitCode ?? 0;
  } catch (err) {
    progress.stop();
    await engine.stop().catch(() => {});
    await Promise.all(drains).catch(() => {});
    process.stderr.write(`keyflow: ${err instanceof Error ? err.message : String(err)}\n`);
    code = 1;
  }
  await Promise.all([sink?.close(), lateSink?.close(), errorSink?.close(), serving?.close()]);
  stop.dispose();
  return code;
}
