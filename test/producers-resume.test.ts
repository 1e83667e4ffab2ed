import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

// Two producers, each numbering its events by line: lines 1..n of producer p carry key p and time = line.
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const events = (p: string, ls: number[]) => ls.map((line) => ({ k: p, t: line, v: 1 }));

t.test('two producers with { sourceId, lines } each resume from their own position, and resent lines count once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-producers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const options = { module: fixture('durable'), workers: 2, stateDir: join(dir, 'state'), snapshotEveryMs: 0 };
  const out = join(dir, 'counts.ndjson');
  const first = await start(options);
  first.writeResultsTo('counts', out);
  // The watermark is the least of the sources' (once each has sent): a's first line holds it back while b
  // runs ahead, so neither producer makes the other's events late.
  await first.ingest(events('a', [1]), { sourceId: 'a', lines: [1] });
  await first.ingest(events('b', lines(1, 120)), { sourceId: 'b', lines: lines(1, 120) });
  await first.ingest(events('a', lines(2, 300)), { sourceId: 'a', lines: lines(2, 300) });
  await first.checkpoint();
  await first.ingest(events('a', lines(301, 350)), { sourceId: 'a', lines: lines(301, 350) });
  await first.abort(); // as a crash: lines 301..350 of a are in the WAL, not in the checkpoint

  const second = await start(options);
  second.writeResultsTo('counts', out);
  t.equal(second.resumePosition('a'), 300, "a resumes after its last checkpointed line");
  t.equal(second.resumePosition('b'), 120, 'b after its own');
  // Each producer resends from its position, overlapping what the WAL already holds for a. (The slower
  // producer first: a source holds the watermark back only once it has sent again.)
  await second.ingest(events('b', lines(121, 200)), { sourceId: 'b', lines: lines(121, 200) });
  await second.ingest(events('a', lines(301, 400)), { sourceId: 'a', lines: lines(301, 400) });
  await second.stop();
  const results = (await readFile(out, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; n: number });
  const total = (key: string) => results.reduce((n, r) => n + (r.key === key ? r.n : 0), 0);
  t.equal(total('a'), 400, 'a: lines 1..400, each once (the replayed 301..350 are not counted again)');
  t.equal(total('b'), 200, 'b: lines 1..200, each once');
});
