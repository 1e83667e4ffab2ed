import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StartOptions } from '../lib/index.js';
import { start } from './helpers/start.js';
import type { Ev } from './fixtures/bytes.js';
import { fixture } from './helpers/collect.js';

/** Bytes that differ for every `seed`. */
const pattern = (seed: number, length = 32) => Uint8Array.from({ length }, (_, i) => (seed * 7 + i) & 0xff);

const KEPT = pattern(1, 16);
const FLOATS = Float64Array.of(1.5, -2.25, Math.PI);

/** Many frames of other bytes, each ingested (and so framed) on its own. */
async function noise(engine: Awaited<ReturnType<typeof start>>, frames: number): Promise<void> {
  for (let f = 0; f < frames; f++) {
    await engine.ingest(Array.from({ length: 20 }, (_, i): Ev => ({ k: `n${i}`, op: 'noise', bytes: new Uint8Array(64).fill(0xee - f), floats: new Float64Array(8).fill(f) })));
  }
}

async function keepThenFlush(t: Test, options: StartOptions): Promise<void> {
  const engine = await start({ module: fixture('bytes'), workers: 1, ...options });
  const results: any[] = [];
  engine.results('bytes').on('data', (r) => results.push(r));
  await engine.ingest({ k: 'a', op: 'keep', bytes: KEPT, floats: FLOATS } satisfies Ev);
  await noise(engine, 50);
  await engine.ingest({ k: 'a', op: 'flush' } satisfies Ev);
  await engine.stop();
  t.equal(results.length, 1);
  t.same([...results[0].bytes], [...KEPT], 'the bytes kept in state are the event\'s');
  t.same([...results[0].floats], [...FLOATS], 'so are the typed array\'s values');
}

t.test('byte arrays kept in state from an event are not overwritten by later frames', async (t) => {
  await keepThenFlush(t, {});
});

t.test('the same with state in LMDB, evicted to the database and read back', async (t) => {
  await keepThenFlush(t, { stateBackend: 'lmdb', stateCacheKeys: 1 });
});

t.test('byte arrays kept in state survive a checkpoint and a restore', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'keyflow-bytes-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const first = await start({ module: fixture('bytes'), workers: 1, stateDir });
  await first.ingest({ k: 'a', op: 'keep', bytes: KEPT, floats: FLOATS } satisfies Ev);
  await first.stop();
  const second = await start({ module: fixture('bytes'), workers: 1, stateDir });
  const results: any[] = [];
  second.results('bytes').on('data', (r) => results.push(r));
  await noise(second, 20);
  await second.ingest({ k: 'a', op: 'flush' } satisfies Ev);
  await second.stop();
  t.same(results.map((r) => [[...r.bytes], [...r.floats]]), [[[...KEPT], [...FLOATS]]]);
});

t.test('byte arrays in results a consumer keeps are not overwritten by later frames', async (t) => {
  const engine = await start({ module: fixture('bytes'), workers: 2 });
  const kept: any[] = [];
  engine.results('bytes').on('data', (r) => kept.push(r));
  for (let batch = 0; batch < 40; batch++) {
    await engine.ingest(Array.from({ length: 50 }, (_, i): Ev => {
      const seq = batch * 50 + i;
      return { k: `k${seq % 5}`, op: 'echo', seq, bytes: pattern(seq) };
    }));
  }
  await engine.stop();
  t.equal(kept.length, 2000);
  const wrong = kept.filter((r) => !Buffer.from(r.bytes).equals(Buffer.from(pattern(r.seq))));
  t.same(wrong.map((r) => r.seq), [], 'every kept result still holds its own bytes');
});
