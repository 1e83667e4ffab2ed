/**
 * An actor: one long-lived worker thread that alone owns the state of its key-groups. It reads frames
 * from its input ring in order, applies them to its operators, and writes results, late events and
 * problems to its output ring. Watermarks and the end marker arrive in band, between events.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ActorInit, ActorMessage } from '../lib/actor-init.js';
import { FrameView } from '../lib/codec/frame.js';
import { FrameSender, type Oversize } from '../lib/codec/frame-sender.js';
import { END, ERROR, EVENT, LATE, RESULT, WATERMARK } from '../lib/codec/records.js';
import { codes, describeThrown } from '../lib/errors.js';
import { stateKeyOf } from '../lib/keygroups.js';
import type { Operator, OperatorOutput } from '../lib/operators/operator.js';
import { createOperator } from '../lib/operators/create-operator.js';
import { loadPipeline } from '../lib/pipeline-loader.js';
import { Doorbell } from '../lib/ring/doorbell.js';
import { RingReader } from '../lib/ring/reader.js';
import { RingWriter } from '../lib/ring/writer.js';

const init = workerData as ActorInit;
const post = (m: ActorMessage) => parentPort!.postMessage(m);

const doorbell = new Doorbell(init.doorbell);
const out = new FrameSender(new RingWriter(init.output), init.frameRecords, () => doorbell.ring());
let failed = false;

function add(kind: number, pipe: number, kg: number, src: number, pos: number, key: unknown, value: unknown): void {
  out.builder.add(kind, pipe, src, kg, NaN, NaN, pos, key, value);
  if (out.builder.full) seal();
}

/** Seal the output records into frames; a result too big for the ring becomes a problem report. */
function seal(): void {
  const oversized: Oversize[] = [];
  out.seal((o) => oversized.push(o));
  for (const o of oversized) {
    const problem = { code: codes.TOO_LARGE, stage: 'route', detail: `an output record of ${o.bytes} bytes exceeds the ring's frame limit` };
    out.builder.add(ERROR, o.pipe, o.src, o.kg, NaN, NaN, o.pos, o.key, problem);
  }
  if (oversized.length > 0) out.seal(() => {});
}

function outputFor(pipe: number): OperatorOutput {
  return {
    result: (value) => add(RESULT, pipe, 0, 0, 0, undefined, value),
    late: (event) => add(LATE, pipe, 0, 0, 0, undefined, event),
    problem: (problem, kg, src, pos) => {
      add(ERROR, pipe, kg, src, pos, problem.key, problem);
      if (init.failFast) failed = true;
    },
  };
}

async function flush(): Promise<void> {
  seal();
  await out.push();
}

async function run(operators: Operator[]): Promise<void> {
  const reader = new RingReader(init.input);
  const frame = new FrameView();
  let seq = 0;
  for (;;) {
    const bytes = reader.next();
    if (bytes === null) {
      await flush();
      await reader.waitForData();
      continue;
    }
    frame.decode(bytes);
    const { kind, pipe, kg, ts, wm, src, pos, keys, values } = frame;
    for (let i = 0; i < frame.count && !failed; i++) {
      switch (kind[i]) {
        case EVENT: {
          const key = keys[i];
          operators[pipe[i]].onEvent(kg[i], key, stateKeyOf(key), ts[i], wm[i], src[i], pos[i], seq++, values[i]);
          break;
        }
        case WATERMARK:
          operators[pipe[i]].advance(wm[i]);
          break;
        case END:
          for (const op of operators) op.advance(Infinity);
          add(END, 0, 0, 0, 0, undefined, undefined);
          await flush();
          return;
      }
    }
    await flush();
    // Stopping on the first error: report it and take nothing more; the main thread ends this thread.
    if (failed) return;
  }
}

async function main(): Promise<void> {
  let operators: Operator[];
  try {
    const pipelines = await Promise.all(init.pipelines.map((p) => loadPipeline(p.name, p.moduleUrl)));
    operators = pipelines.map((p, i) => createOperator(p, outputFor(i), init.maxKeyGroups));
  } catch (err) {
    post({ type: 'init-error', message: err instanceof Error ? err.message : describeThrown(err) });
    return;
  }
  post({ type: 'ready' });
  await run(operators);
}

// Stay alive until the engine terminates this thread: to the engine, an actor that exits on its own
// has crashed, and it may not have read our last output yet.
parentPort!.on('message', () => {});

await main();
