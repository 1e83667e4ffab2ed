/**
 * `keyflow run`'s watchdog for the calling thread. The pipelines' filter(), map(), keyBy() and
 * eventTime() run on the main thread (inside ingest()), where a function that never returns blocks the
 * event loop: no timer fires, so the engine's maxCallMs watchdog (which covers the actors) cannot act,
 * and the run would hang forever. A small worker thread watches instead: the main thread bumps a
 * heartbeat on a timer; when it has not moved for maxCallMs, the watchdog writes one line naming the
 * pipeline and input position being routed (from the engine's routing activity, see
 * ../routing-activity.ts), interrupts the stuck thread and has it exit with code 1, or kills the process
 * if that fails (see lib/cli/stall-watchdog-thread.ts).
 *
 * For the CLI only: a library must never kill its host process, so the engine merely keeps the slots
 * up to date and leaves acting on them to the program that owns the process.
 */
import { url as inspectorUrl } from 'node:inspector';
import { Worker } from 'node:worker_threads';
import { where } from '../shared/dead-letter.js';
import { RoutingActivity, type RoutingReport } from '../shared/routing-activity.js';

const THREAD_URL = new URL('./stall-watchdog-thread.js', import.meta.url);

/** The watchdog thread's message once it has interrupted the stuck thread: exit now. */
export const STALLED = 'stalled';

/** The exit code of a run ended by the watchdog (unless it had to kill the process: 137 then). */
const STALLED_EXIT_CODE = 1;

/** What the watchdog thread is given. */
export interface StallWatchdogInit {
  routing: SharedArrayBuffer;
  pipelineNames: string[];
  maxCallMs: number;
  /** How often the heartbeat moves and the watchdog looks at it. */
  periodMs: number;
}

/** The heartbeat's period: several beats per maxCallMs, so a slow timer is never taken for a stuck thread. */
export const periodFor = (maxCallMs: number) => Math.min(250, Math.max(10, Math.floor(maxCallMs / 6)));

export class StallWatchdog {
  private readonly beating: NodeJS.Timeout;

  private constructor(private readonly thread: Worker, routing: RoutingActivity, periodMs: number) {
    this.beating = setInterval(() => routing.beat(), periodMs).unref();
  }

  /** Watch the thread that routes events into `routing` (engine.routingActivity()); null when maxCallMs is 0 (off). */
  static start(routing: SharedArrayBuffer, pipelineNames: string[], maxCallMs: number): StallWatchdog | null {
    // Not under a debugger (node --inspect): a thread paused at a breakpoint is not stuck.
    if (maxCallMs === 0 || inspectorUrl() !== undefined) return null;
    const init: StallWatchdogInit = { routing, pipelineNames, maxCallMs, periodMs: periodFor(maxCallMs) };
    const thread = new Worker(THREAD_URL, { workerData: init });
    // Never what keeps the process alive; and a watchdog that cannot run only takes the safety net away.
    thread.unref();
    thread.on('error', (err) => process.emitWarning(`the watchdog of the calling thread stopped: ${err.message}`, { code: 'KEYFLOW_WATCHDOG' }));
    // The stuck call was interrupted (its ingest() will never settle): end the process, as a crash would.
    thread.on('message', (m) => { if (m === STALLED) process.exit(STALLED_EXIT_CODE); });
    return new StallWatchdog(thread, new RoutingActivity(routing), init.periodMs);
  }

  /** The run is over. */
  async stop(): Promise<void> {
    clearInterval(this.beating);
    await this.thread.terminate();
  }
}

/**
 * The line written when the calling thread has been stuck for `ms`, e.g. "the calling thread has been
 * blocked for 1503 ms in pipeline 'p' at events.ndjson:123 (…)".
 */
export function stallMessage(report: RoutingReport, pipelineNames: readonly string[], ms: number, maxCallMs: number): string {
  const pipeline = `pipeline '${pipelineNames[report.pipe] ?? `#${report.pipe}`}'`;
  const fix = `If that is legitimately slow, raise --max-call-ms (now ${maxCallMs}), or set it to 0 for no limit`;
  const blocked = `keyflow: the calling thread has been blocked for ${Math.round(ms)} ms`;
  if (report.busy && report.location !== null) {
    return `${blocked} in ${pipeline} at ${where(report.location)}, in its filter(), map(), keyBy() or eventTime() (these run on the calling thread, `
      + `not on an actor): a function that never returns? Ending the process. ${fix}\n`;
  }
  const last = report.location === null ? 'none yet' : `${pipeline} at ${where(report.location)}`;
  return `${blocked} outside the pipelines' functions (the last event routed: ${last}). Ending the process. ${fix}\n`;
}
