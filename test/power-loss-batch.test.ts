/** Power loss along a traced run with durability 'batch' (see helpers/power-loss/harness.ts). */
import './helpers/start.js';
import { MIN_CRASH_STATES, testPowerLoss } from './helpers/power-loss/harness.js';

testPowerLoss({ name: "durability 'batch', 2 workers, from an empty directory", workers: 2, durability: 'batch', minStates: MIN_CRASH_STATES });
