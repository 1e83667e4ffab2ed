import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedResults } from './fixtures/crash-events.js';
import { readResults, runChild } from './helpers/crash.js';

const EVENTS = 60_000;
const KILLS = 24;

t.test(`SIGKILL at random moments, ${KILLS} times: every event counted once, every result written once`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-crash-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const args = [join(dir, 'state'), join(dir, 'results.ndjson'), join(dir, 'acks.log'), String(EVENTS), '2'];
  let kills = 0;
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  while (kills < KILLS) {
    // Killed while starting, recovering, ingesting, snapshotting or truncating: anywhere from 50 to 600 ms in.
    const run = await runChild(args, 50 + Math.floor(random() * 550));
    if (run.signal === 'SIGKILL') kills++;
    else if (run.code !== 0) t.fail(`child failed: ${run.stderr}`);
    else break; // finished before the kill
  }
  t.ok(kills >= Math.min(KILLS, 20), `${kills} SIGKILLs`);
  const last = await runChild(args);
  t.equal(last.code, 0, last.stderr);

  const acked = new Set(readFileSync(args[2], 'utf8').split('\n').filter(Boolean).map(Number));
  t.ok(acked.size > 0, `${acked.size} batches were acknowledged across the runs`);
  const expected = expectedResults(EVENTS);
  const got = readResults(args[1]);
  t.same(got.duplicates, [], 'no result is written twice');
  t.equal(got.byWindow.size, expected.size, `all ${expected.size} results are there`);
  let wrong = 0;
  for (const [id, want] of expected) {
    const have = got.byWindow.get(id);
    if (!have || have.n !== want.n || have.total !== want.total) wrong++;
  }
  t.equal(wrong, 0, 'every window counts every event exactly once');
});
