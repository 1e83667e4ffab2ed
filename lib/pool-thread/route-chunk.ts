/**
 * A pool thread of a parallel source (run by piscina): parse a chunk of NDJSON (handed over, or read from
 * a file), or generate a range of Nexmark events, run every pipeline's
 * stateless part (filter, map, key, event time) on its events, and encode them into frames per actor.
 * The same Router as on the calling thread does the work, stamping each event with the largest event
 * time before it in the chunk instead of a watermark (see shared/router.ts). The frames' buffers are
 * transferred back, not copied.
 */
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import type { ChunkInput, ChunkResult, ChunkTask, PoolSetup, PoolThreadData } from '../shared/chunk-protocol.js';
import { FrameSealer } from '../shared/codec/frame-sender.js';
import type { Problem } from '../shared/dead-letter.js';
import { describeThrown } from '../shared/errors.js';
import { forEachBatch, type BadLine } from '../shared/ndjson-lines.js';
import { readRange } from './file-range.js';
import { NexmarkGenerator } from '../nexmark/generator.js';
import { Router } from '../shared/router.js';
import { RoutingActivity } from '../shared/routing-activity.js';
import { loadPipeline } from '../pipeline/pipeline-loader.js';
import { markEngineThread } from '../shared/engine-thread.js';
import { receive } from '../shared/mailbox.js';

/** Lines parsed before they are routed: a few at a time, so the events of a chunk (about a megabyte) are not all alive at once. */
const ROUTED_LINES = 256;

markEngineThread('source');
const setup = await receive<PoolSetup>((workerData as PoolThreadData).setup);
const pipelines = await Promise.all(setup.pipelines.map((p) => loadPipeline(p.name, p.moduleUrl)));
const sealers = Array.from({ length: setup.workers }, () => new FrameSealer(setup.frameRecords, setup.maxFrame));
let problems: ChunkResult['problems'] = [];
let future: ChunkResult['future'] = [];
const router = new Router(pipelines, sealers, setup.maxKeyGroups, (problem, pipe, _src, line) => problems.push({ problem, pipe, line }),
  (pipe, _src, line, time) => future.push({ pipe, line, time }), RoutingActivity.create(), true);

export default function routeChunk(task: ChunkTask): unknown {
  problems = [];
  future = [];
  const activity = new RoutingActivity(task.activity);
  router.watchedBy(activity);
  router.beginChunk(task.combine);
  router.tick(task.now);
  activity.busy(task.src, 'chunk', 'line');
  const { lines, events, bad } = routeInput(task.input, task.src);
  activity.idle();
  router.sealAll();
  const frames = sealers.map((s) => s.take());
  const due = router.combinedDue();
  const result: ChunkResult = { frames, lines, events, bad, problems: problems.map(cloneable), future, largest: router.largestTimes(), due };
  const transfer = frames.flat().map((f) => f.buffer);
  // The input goes back with a chunk that combined events, in case it must be routed again event by event.
  if (due.some((d) => d < Infinity)) {
    result.input = task.input;
    if ('ndjson' in task.input) transfer.push(task.input.ndjson.buffer);
  }
  return move({ [transferableSymbol]: transfer, [valueSymbol]: result });
}

/** Route a chunk's events, each with its line (or its number in the range) counted from 1. */
function routeInput(input: ChunkInput, src: number): Pick<ChunkResult, 'lines' | 'events' | 'bad'> {
  if ('ndjson' in input) return routeLines(Buffer.from(input.ndjson.buffer, input.ndjson.byteOffset, input.ndjson.byteLength), input.atStart, src);
  if ('file' in input) {
    const region = readRange(input.file);
    return region === null ? { lines: 0, events: 0, bad: [] } : routeLines(region, input.file.from === 0, src);
  }
  const { count } = input.nexmark;
  const generator = new NexmarkGenerator(input.nexmark);
  for (let i = 1; i <= count; i++) router.route(generator.next(), src, i);
  return { lines: count, events: count, bad: [] };
}

function routeLines(region: Buffer, atStart: boolean, src: number): Pick<ChunkResult, 'lines' | 'events' | 'bad'> {
  const bad: BadLine[] = [];
  let events = 0;
  const lines = forEachBatch(region, atStart, ROUTED_LINES, (batch) => {
    for (let i = 0; i < batch.events.length; i++) router.route(batch.events[i], src, batch.lines[i]);
    events += batch.events.length;
    for (const b of batch.bad) bad.push(b);
  });
  return { lines, events, bad };
}

/** A problem whose event or key cannot be sent to another thread (a map() that returned a function) says so instead. */
function cloneable(p: ChunkResult['problems'][number]): ChunkResult['problems'][number] {
  try {
    structuredClone(p.problem);
    return p;
  } catch (err) {
    const problem: Problem = { ...p.problem, event: `(not sendable to the calling thread: ${describeThrown(err)})` };
    delete problem.key;
    return { ...p, problem };
  }
}
