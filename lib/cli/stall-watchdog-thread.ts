/**
 * The thread of `keyflow run`'s calling-thread watchdog (see lib/cli/stall-watchdog.ts): when the main
 * thread's heartbeat has not moved for maxCallMs, it writes one line to stderr and ends the process.
 *
 * The main thread is stuck, so neither step can go through it. The line goes straight to fd 2 with
 * writeSync (process.stderr in a worker is relayed by the main thread). Then the stuck JavaScript is
 * interrupted through the inspector (Runtime.terminateExecution, which V8 delivers even to a busy loop)
 * and the main thread, free again, is told to exit with code 1 (process.exit here would end only this
 * thread). If that does not work within STILL_ALIVE_MS (no inspector in this Node, or the thread is stuck
 * in native code, which termination cannot interrupt), SIGKILL: a shell then sees 137. SIGTERM would not
 * do, as keyflow run handles it on the stuck thread. Nothing is lost that a crash would not lose: with
 * --state, a rerun resumes from the last checkpoint and repairs the output files.
 */
import { writeSync } from 'node:fs';
import { Session } from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';
import { RoutingActivity } from '../shared/routing-activity.js';
import { STALLED, stallMessage, type StallWatchdogInit } from './stall-watchdog.js';

/** How long the main thread gets to exit once interrupted, before the process is killed. */
const STILL_ALIVE_MS = 2000;

const { routing, pipelineNames, maxCallMs, periodMs } = workerData as StallWatchdogInit;
const activity = new RoutingActivity(routing);
let heartbeat = activity.heartbeat;
let since = performance.now();

const watching = setInterval(() => {
  const now = performance.now();
  const beat = activity.heartbeat;
  if (beat !== heartbeat) {
    heartbeat = beat;
    since = now;
  } else if (now - since >= maxCallMs) {
    clearInterval(watching);
    writeSync(2, stallMessage(activity.read(), pipelineNames, now - since, maxCallMs));
    end();
  }
}, periodMs);

function end(): void {
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), STILL_ALIVE_MS);
  try {
    const session = new Session();
    session.connectToMainThread();
    session.post('Runtime.terminateExecution', () => {
      // Disconnected first: Node waits for (and says it waits for) inspector sessions still open at exit.
      session.disconnect();
      parentPort!.postMessage(STALLED);
    });
  } catch {
    // No inspector: the timer above kills the process.
  }
}
