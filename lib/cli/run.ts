import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { serve, start } from '../calling-thread/entry-points.js';
import type { Serving } from '../calling-thread/serve.js';
import type { DeadLetter } from '../shared/dead-letter.js';
import type { Durability } from '../shared/actor-protocol.js';
import type { OnError } from '../calling-thread/options.js';
import { NdjsonSink } from '../calling-thread/sinks/ndjson.js';
import { ndjsonFile } from '../shared/ndjson-file.js';
import { KeyflowError, codes } from '../shared/errors.js';
import { afterFailure, handledWhereAwaited } from '../shared/ignore.js';
import { Progress } from './progress.js';
import { RunStop } from './run-stop.js';
import { StallWatchdog } from './stall-watchdog.js';
import { checkRunPaths } from './run-paths.js';
import { formatSummary } from './summary.js';

export interface RunArgs {
  module: string;
  pipelines?: string[];
  /** An NDJSON file, or '-' for stdin; or else `from`. */
  input?: string;
  /** A NATS JetStream stream (see engine.ingestJetStream()): read until caught up, or until stopped. */
  from?: { servers: string; stream: string; subject?: string; untilCaughtUp: boolean };
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
  /** Threads that parse and route the input (see StartOptions.sourceThreads). */
  sourceThreads?: number;
}

/**
 * A `keyflow run` never hangs on a user function that never returns: it fails after this by default.
 * It bounds calls on the actors and source threads (the engine's maxCallMs) and on the calling thread (StallWatchdog) alike.
 */
const DEFAULT_MAX_CALL_MS = 60_000;

const SHOWN_ERRORS = 5;

/**
 * Source threads for an input file, unless --source-threads says: one per 64 MiB, at least one,
 * at most the engine's default of one per core. A thread costs about 80 ms of CPU to start, more than it
 * saves on a small share of the input (bids per auction on 2 cores, one thread against two: 9 MB in
 * 0.35 s against 0.42 s, 36 MB 0.53 s against 0.56 s, 63 MB even, 90 MB 0.88 s against 0.83 s, 173 MB
 * 1.30 s against 1.12 s).
 */
const BYTES_PER_SOURCE_THREAD = 64 * 2 ** 20;

function sourceThreadsFor(input: string): number | undefined {
  const stat = input === '-' ? null : statSync(input);
  // A pipe or a device (stdin, /dev/stdin, <(…)) has no size to go by: the engine's default.
  if (stat === null || !stat.isFile()) return undefined;
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(stat.size / BYTES_PER_SOURCE_THREAD)));
}

/** `keyflow run`: NDJSON events (or a JetStream stream's) in, NDJSON results out, a progress bar and a summary on stderr. */
export async function run(args: RunArgs): Promise<number> {
  checkRunPaths(args);
  const maxCallMs = args.maxCallMs ?? DEFAULT_MAX_CALL_MS;
  const engine = await start({
    module: args.module,
    ...(args.pipelines?.length ? { pipelines: args.pipelines } : {}),
    ...(args.workers === undefined ? {} : { workers: args.workers }),
    ...(args.maxKeyGroups === undefined ? {} : { maxKeyGroups: args.maxKeyGroups }),
    onError: args.onError ?? 'skip',
    maxCallMs,
    sourceThreads: args.sourceThreads ?? (args.input === undefined ? undefined : sourceThreadsFor(args.input)),
    prestartSourceThreads: true,
    keepActorThreadsMs: 0, // one engine per process: none comes after it to take its threads
    ...(args.state ? { stateDir: args.state, ...(args.durability ? { durability: args.durability } : {}), ...(args.repair ? { repair: true } : {}) } : {}),
  });
  /**
   * The pipelines as the user wrote them (a pipeline of several stages is one, its last stage): those named
   * with --pipeline (not the pipelines they read with from(), which run for them), or all.
   */
  const outputs = engine.pipelines.filter((p) => p.downstream === null && (!args.pipelines?.length || args.pipelines.includes(p.name)));
  // Without source threads the pipelines' stateless functions run on this thread: if one never returns, the
  // watchdog ends the process. Source threads are watched by the engine, and a watchdog thread's start-up
  // (60–150 ms of CPU) would compete with theirs.
  const watchdog = engine.sourceThreadCount === 0
    ? StallWatchdog.start(engine.routingActivity(), engine.pipelines.map((p) => p.name), maxCallMs)
    : null;
  const source = args.input === undefined ? '' : args.input === '-' ? 'stdin' : basename(args.input);
  // With state, files of results and late events are written exactly once across crashes (they are
  // numbered, and each file is cut back to what was committed); stdout cannot be cut back, so it gets
  // what comes. Dead letters are appended: a rerun keeps those of earlier runs (replayed input may repeat some).
  const exactly = (path: string | undefined) => args.state !== undefined && path !== undefined && path !== '-';
  const sinks: NdjsonSink[] = [];
  const open = (path: string | undefined, append = false) => {
    if (path === undefined) return null;
    const sink = new NdjsonSink(path, { append });
    sinks.push(sink);
    return sink;
  };
  let serving: Serving | null = null;
  const progress = new Progress(args.input === undefined || args.input === '-' ? 0 : statSync(args.input).size, 'bytes');
  const drains: Promise<void>[] = [];
  let shown = 0;
  let code = 0;
  /** stdin, once read: let go at the end (it may never end on its own). A file is read in chunks that end with the reading. */
  let stdin: Readable | null = null;
  const stop = new RunStop([args.output, args.late, args.errors].includes('-'));
  try {
    if ((exactly(args.output) || exactly(args.late)) && outputs.length > 1) {
      throw new KeyflowError(codes.CONFIG, 'with --state and an output or late file, run one pipeline (pick it with --pipeline)');
    }
    if (exactly(args.output)) engine.writeResultsTo(outputs[0].name, args.output);
    if (exactly(args.late)) engine.writeLateTo(outputs[0].name, args.late!);
    if (args.serve !== undefined) {
      serving = await serve(engine, { port: args.serve });
      process.stderr.write(`serving ${serving.url}/metrics and ${serving.url}/query/<pipeline>?key=…\n`);
    }
    // Lines up to here are in the restored checkpoint; those after it the actors skip if they have them.
    const resumeAfter = args.state && args.input !== undefined ? engine.resumePosition(source) ?? 0 : 0;
    if (resumeAfter > 0) process.stderr.write(`resuming ${source} after line ${resumeAfter}\n`);
    const sink = exactly(args.output) ? null : open(args.output);
    const lateSink = exactly(args.late) ? null : open(args.late);
    const errorSink = open(args.errors, args.state !== undefined);
    // The actors write results and late events as NDJSON (several pipelines: each line names its own); a
    // record JSON cannot write comes back as a dead letter. A pipeline of several stages has its results
    // from its last stage and its late events from its first.
    const wrap = outputs.length > 1;
    for (const p of outputs) {
      if (sink) engine.writeNdjsonTo('results', p.name, sink, { wrap });
      if (lateSink) engine.writeNdjsonTo('late', p.name, lateSink, { wrap });
    }
    drains.push((async () => {
      for await (const e of engine.errors() as AsyncIterable<DeadLetter>) {
        if (shown++ < SHOWN_ERRORS) process.stderr.write(`error: ${e.message}\n`);
        if (errorSink) await errorSink.write(e);
      }
    })());
    // A file that cannot be written ends the run at once (its reader has stopped, so waiting would hang).
    const broken = Promise.race([...drains, ...sinks.map((s) => s.failed)].map((d) => d.then(() => new Promise<never>(() => {}))));
    broken.catch(handledWhereAwaited);

    const t0 = performance.now();
    if (args.input === '-') stdin = process.stdin;
    // A stream resumes by itself after the checkpoint's stream sequence (see jetstream-source.ts).
    const ingesting = args.from !== undefined
      ? engine.ingestJetStream({ ...args.from, signal: stop.signal })
      : engine.ingestNdjson(stdin ?? ndjsonFile(args.input!), {
        ...(args.state ? { sourceId: source } : { source }),
        skipLines: resumeAfter,
        live: args.input === '-',
        signal: stop.signal,
        onProgress: (bytes) => progress.update(bytes, engine.stats().events / ((performance.now() - t0) / 1000)),
      });
    await Promise.race([ingesting, broken]);
    // Read to its end, or stopped: let the input go (stdin may never end on its own).
    stdin?.destroy();
    const summary = await Promise.race([engine.stop(), broken]);
    progress.stop();
    await Promise.all(drains);
    await Promise.all(sinks.map((s) => s.close()));
    if (shown > SHOWN_ERRORS) process.stderr.write(`… and ${shown - SHOWN_ERRORS} more errors${errorSink ? ` (all in ${args.errors})` : ''}\n`);
    if (stop.reason !== 'EPIPE') process.stderr.write(formatSummary(summary) + '\n');
    code = stop.exitCode ?? 0;
  } catch (err) {
    progress.stop();
    stdin?.destroy();
    // Not stop(): its final checkpoint would move the state past outputs that may have had nowhere to go.
    await engine.abort();
    await Promise.all(drains).catch(afterFailure);
    await Promise.all(sinks.map((s) => s.close().catch(afterFailure)));
    process.stderr.write(`keyflow: ${err instanceof Error ? err.message : String(err)}\n`);
    code = 1;
  }
  await serving?.close();
  await watchdog?.stop();
  stop.dispose();
  return code;
}
