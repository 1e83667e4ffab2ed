/** Power loss along a traced run with durability 'batch' (see helpers/power-loss/harness.ts). */
import './helpers/start.js';
import { testPowerLoss } from './helpers/power-loss/harness.js';

// How many crash states a traced run yields depends on how its writes fall between syncs, which thread
// timing decides: 1,900-2,450 in runs of the same code. The floor catches an exploration that collapses.
testPowerLoss({ name: "durability 'batch', 2 workers, from an empty directory", workers: 2, durability: 'batch', minStates: 1_500 });
