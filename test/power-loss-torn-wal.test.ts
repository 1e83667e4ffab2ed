/** Power loss along a traced recovery of a WAL whose last record is torn (see helpers/power-loss/harness.ts). */
import './helpers/start.js';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { killedRun } from './helpers/power-loss/child.js';
import { EVENTS, MIN_CRASH_STATES, testPowerLoss } from './helpers/power-loss/harness.js';

testPowerLoss({
  name: 'recovery of a WAL whose last record is torn',
  workers: 2,
  durability: 'batch',
  prepare: async (root) => {
    await killedRun(root, EVENTS, 2, EVENTS / 3);
    const dir = join(root, 'state', 'wal', 'w2-actor-0');
    const last = readdirSync(dir).sort().at(-1)!;
    // A record header promising more bytes than follow, as a write cut short leaves it.
    appendFileSync(join(dir, last), Buffer.from([0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7]));
  },
  minStates: MIN_CRASH_STATES,
});
