import t from 'tap';
import { execFile, type ExecFileException } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createMailbox, post } from '../lib/shared/mailbox.js';
import { runNode } from './helpers/cli.js';

// start() starts the engine's threads before it loads the engine and looks at the pipelines (see
// lib/calling-thread/prestarted-threads.ts): when it then fails, it must end them.

const CHILD = fileURLToPath(new URL('./fixtures/start-failure.js', import.meta.url));

const failures = [
  ['an unknown pipeline', 'ERR_KEYFLOW_UNKNOWN_PIPELINE', /unknown pipeline 'nowhere'/],
  ['options it refuses', 'ERR_KEYFLOW_CONFIG', /frameRecords/],
  ['a state directory another engine holds', 'ERR_KEYFLOW_STATE_DIR', /another engine/],
] as const;

for (const [failure, code, message] of failures) {
  t.test(`start() that fails on ${failure} leaves no thread behind: the process ends on its own`, async (t) => {
    const r = await runNode([CHILD, failure], { timeoutMs: 30_000 });
    t.notOk(r.timedOut, `the process ended (stderr: ${r.stderr})`);
    t.equal(r.code, 0, r.stderr);
    const reported = JSON.parse(r.stdout) as { code?: string; message?: string };
    t.equal(reported.code, code);
    t.match(reported.message, message);
  });
}

t.test('start() that cannot allocate its rings leaves no thread behind', async (t) => {
  // A limit on address space that the rings exceed (1 GiB each, four of them) but Node itself does not.
  const limited = await new Promise<{ error: ExecFileException | null; stdout: string; stderr: string }>((resolve) => {
    execFile('bash', ['-c', `ulimit -v 7000000 && exec "${process.execPath}" "${CHILD}" 'rings it cannot allocate'`], { timeout: 60_000 },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
  t.equal(limited.error, null, `the process ended on its own (stderr: ${limited.stderr})`);
  t.match(JSON.parse(limited.stdout), { message: /allocation failed/i }, 'start() failed on the rings');
});

// The source threads' setup goes through a mailbox: they are waiting for it before it is written.
// (A wait on shared memory does not keep a thread alive; a pool thread's port does, this timer here.)
const RECEIVER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const alive = setInterval(() => {}, 1000);
  import(workerData.mailboxModule).then(({ receive }) => receive(workerData.mailbox)).then((v) => {
    parentPort.postMessage(v);
    clearInterval(alive);
  });
`;

t.test('a mailbox hands one value to threads that started before it was written', async (t) => {
  const mailbox = createMailbox();
  const mailboxModule = new URL('../lib/shared/mailbox.js', import.meta.url).href;
  const threads = [1, 2].map(() => new Worker(RECEIVER, { eval: true, workerData: { mailbox, mailboxModule } }));
  const received = threads.map((w) => new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  }));
  // Larger than the mailbox at first: it grows to take it.
  const value = { pipelines: Array.from({ length: 300 }, (_, i) => ({ name: `p${i}`, moduleUrl: `file:///${'é'.repeat(i)}.js` })), workers: 3 };
  await new Promise((resolve) => setTimeout(resolve, 100));
  post(mailbox, value);
  t.same(await Promise.all(received), [value, value], 'each thread received the value');
  await Promise.all(threads.map((w) => w.terminate()));
  t.throws(() => post(mailbox, value), /one value/, 'and it is written once');
});
