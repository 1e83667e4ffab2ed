import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExactlyOnceFileSink, type SinkOwner } from '../lib/calling-thread/sinks/exactly-once-file.js';

// When an exactly-once output's results reach the file, and what its commit record holds.

const open = (path: string, owner: SinkOwner) => new ExactlyOnceFileSink(path, 8, owner, (err) => { throw err; });

t.test('results are buffered until 64 KiB are pending, then written out before any commit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-sink-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'out.ndjson');
  const sink = open(path, { stateId: 'id', resuming: false });
  sink.write(0, 1, 'x'.repeat(65532)); // "…"\n: one byte short of 64 KiB
  t.equal(statSync(path).size, 0, 'just under 64 KiB stays pending');
  sink.write(0, 2, 'y');
  t.equal(statSync(path).size, 65535 + 4, 'crossing 64 KiB writes everything pending');
  sink.write(0, 3, 'z'.repeat(65533)); // exactly 64 KiB
  t.equal(statSync(path).size, 65539 + 65536, 'exactly 64 KiB is written out at once');
  sink.close();
});

t.test('the commit record holds the length and the high mark of each key-group written', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-sink-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'out.ndjson');
  const sink = open(path, { stateId: 'id', resuming: false });
  sink.write(3, 1, 'a');
  sink.write(3, 2, 'b');
  sink.write(6, 9, 'c');
  sink.commit();
  sink.close();
  const record = readFileSync(`${path}.commit`, 'utf8');
  t.same(JSON.parse(record.slice(record.indexOf('\n') + 1)), { stateId: 'id', length: 12, high: [[3, 2], [6, 9]] });
});

t.test('without a state directory nothing is resumed, so no commit record is kept', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-sink-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'out.ndjson');
  const sink = open(path, { stateId: null, resuming: false });
  sink.write(0, 1, 'a');
  sink.commit();
  sink.write(0, 2, 'b');
  sink.close();
  t.notOk(existsSync(`${path}.commit`), 'no commit record');
  t.equal(readFileSync(path, 'utf8'), '"a"\n"b"\n', 'what was written after the commit is kept at close');
  open(path, { stateId: null, resuming: false }).close();
  t.equal(readFileSync(path, 'utf8'), '', 'reopened, with nothing to resume, it starts over');
});
