/**
 * Builds state for the recovery benchmark, then dies: `keys` keys, a checkpoint (its longest pause is
 * printed), a WAL tail of `keys / 10` more events, then SIGKILL.
 *
 *   node recovery-child.js <stateDir> <keys> <workers>
 */
import { start } from '../lib/index.js';

const [stateDir, keysText, workersText] = process.argv.slice(2);
const keys = Number(keysText);
const engine = await start({ module: new URL('./workloads/keyed-state.js', import.meta.url).href, workers: Number(workersText), stateDir, snapshotEveryMs: 0 });
const BATCH = 20_000;
const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: (from + i) % keys, t: from + i, v: 1 }));
for (let i = 0; i < keys; i += BATCH) await engine.ingest(batch(i, Math.min(BATCH, keys - i)));
await engine.checkpoint();
process.stdout.write(JSON.stringify({ longestPauseMs: engine.checkpointStats().longestPauseMs }) + '\n');
for (let i = keys; i < keys + keys / 10; i += BATCH) await engine.ingest(batch(i, Math.min(BATCH, keys + keys / 10 - i)));
process.kill(process.pid, 'SIGKILL');
