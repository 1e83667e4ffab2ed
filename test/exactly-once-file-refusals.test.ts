import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '../lib/shared/durability/crc32c.js';
import { ExactlyOnceFileSink, type SinkOwner } from '../lib/calling-thread/sinks/exactly-once-file.js';

// What an exactly-once output refuses to open on, and that a refusal says why and leaves the output usable.

const open = (path: string, owner: SinkOwner) => new ExactlyOnceFileSink(path, 8, owner, (err) => { throw err; });
const mine: SinkOwner = { stateId: 'mine', resuming: true };

async function output(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyflow-sink-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'out.ndjson');
}

/** An output holding one committed result of `owner`. */
async function committed(t: Test, owner: SinkOwner): Promise<string> {
  const path = await output(t);
  const sink = open(path, owner);
  sink.write(1, 1, { n: 1 });
  sink.commit();
  sink.close();
  return path;
}

t.test('results of another state directory are refused, naming it', async (t) => {
  const path = await committed(t, { stateId: 'theirs', resuming: false });
  t.throws(() => open(path, mine), { code: 'ERR_KEYFLOW_STATE_DIR', message: /out\.ndjson\.commit records results of another state directory \(id theirs\), not of this one: .*remove .*out\.ndjson and .*out\.ndjson\.commit .*to resume, use the state directory that wrote them/ });
  t.throws(() => open(path, { stateId: null, resuming: false }), { code: 'ERR_KEYFLOW_STATE_DIR', message: /records results of a state directory \(id theirs\)/ });
  t.throws(() => open(path, mine), { code: 'ERR_KEYFLOW_STATE_DIR', details: { path, stateId: 'theirs' } }, 'the error names the output and the other state directory');
  const again = open(path, { stateId: 'theirs', resuming: true });
  again.close();
  t.pass('the lock was released by each refusal: the owner still opens it');
});

t.test('a commit record from before state ids is trusted only when resuming', async (t) => {
  const path = await output(t);
  writeFileSync(path, '{"n":1}\n{"n":2}\n');
  const body = JSON.stringify({ length: 8, high: [[1, 1]] });
  writeFileSync(`${path}.commit`, `${crc32c(Buffer.from(body))}\n${body}`);
  t.throws(() => open(path, { stateId: 'fresh', resuming: false }), { code: 'ERR_KEYFLOW_STATE_DIR', message: /records results of an earlier state directory/ });
  const sink = open(path, { stateId: 'upgraded', resuming: true });
  sink.write(1, 1, { n: 'again' });
  sink.write(1, 2, { n: 2 });
  sink.close();
  t.same(readFileSync(path, 'utf8'), '{"n":1}\n{"n":2}\n', 'cut back to the commit, the committed number skipped');
});

t.test('a corrupt commit record is refused as corrupt state', async (t) => {
  const path = await committed(t, mine);
  const record = readFileSync(`${path}.commit`, 'utf8');
  writeFileSync(`${path}.commit`, record.replace('"length":8', '"length":9'));
  t.throws(() => open(path, mine), { code: 'ERR_KEYFLOW_CORRUPT_STATE', message: /out\.ndjson\.commit is corrupt \(CRC mismatch\)/, details: { path, offset: 0 } });
  writeFileSync(`${path}.commit`, record.slice(record.indexOf('\n') + 1));
  t.throws(() => open(path, mine), { code: 'ERR_KEYFLOW_CORRUPT_STATE' }, 'a record without its CRC line');
});

t.test('an output shorter than its commit record is refused: it was cut or replaced', async (t) => {
  const path = await committed(t, mine);
  truncateSync(path, 7);
  t.throws(() => open(path, mine), { code: 'ERR_KEYFLOW_STATE_DIR', message: /out\.ndjson is shorter than .*out\.ndjson\.commit records \(8 bytes\): it was cut or replaced\. To start over, remove/, details: { path } });
  truncateSync(path, 8);
  open(path, mine).close();
  t.pass('the lock was released: at its committed length it opens');
});

t.test('an output that is not a regular file, or cannot be opened, is refused', async (t) => {
  const path = await output(t);
  execFileSync('mkfifo', [path]);
  t.throws(() => open(path, mine), { code: 'ERR_KEYFLOW_OUTPUT', message: /out\.ndjson is not a regular file: an output written exactly once must be one/, details: { path } });
  const dir = join(path, '..', 'a-directory');
  mkdirSync(dir);
  t.throws(() => open(dir, mine), { code: 'ERR_KEYFLOW_OUTPUT', message: /cannot open .*a-directory for writing: /, details: { path: dir } });
});

t.test('an output is written by one sink at a time', async (t) => {
  const path = await output(t);
  const sink = open(path, mine);
  t.throws(() => open(path, mine), { code: 'ERR_KEYFLOW_STATE_DIR', message: new RegExp(`^output ${path.replace(/[/.]/g, '\\$&')} is in use by process ${process.pid}`) });
  sink.close();
  sink.close();
  t.pass('closing twice is harmless');
  open(path, mine).close();
});
