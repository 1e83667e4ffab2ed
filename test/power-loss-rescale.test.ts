/** Power loss along a traced rescaling: the state of 2 killed workers taken over by 3 (see helpers/power-loss/harness.ts). */
import './helpers/start.js';
import { killedRun } from './helpers/power-loss/child.js';
import { EVENTS, testPowerLoss } from './helpers/power-loss/harness.js';

testPowerLoss({
  name: 'rescaling: the state of 2 killed workers recovered by 3',
  workers: 3,
  durability: 'batch',
  prepare: (root) => killedRun(root, EVENTS, 2, EVENTS / 2),
  minStates: 4_000,
});
