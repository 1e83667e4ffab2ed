/**
 * An actor thread: long-lived, it runs one engine's actor at a time (see session.ts). A thread's first run
 * comes as its first message, not workerData: the thread starts before the engine has laid out its rings,
 * and loads its modules meanwhile (see calling-thread/actor-thread.ts). When an engine ends cleanly it lets
 * the thread go rather than ending it, and the next engine in the process may give it its run: its code is
 * compiled already (see calling-thread/idle-actors.ts).
 */
import { parentPort } from 'node:worker_threads';
import type { ActorInit } from '../shared/actor-protocol.js';
import { markEngineThread } from '../shared/engine-thread.js';
import { ActorSession } from './session.js';

markEngineThread('actor');

// process.exit() in a worker thread ends that thread, not the process. Called by a user function, it
// throws instead, so the call is rolled back and reported as a dead letter like any other throw.
process.exit = ((code?: number | string | null) => {
  throw new Error(`process.exit(${code ?? ''}) was called in a keyflow actor thread, where user code cannot end the run: throw an error instead to turn the event into a dead letter`);
});

// Waiting for the next run keeps this thread alive until the engine terminates it: to the engine, an actor
// that exits on its own has crashed.
for (;;) {
  const init = await new Promise<ActorInit>((resolve) => parentPort!.once('message', resolve));
  await new ActorSession(init).ended;
}
