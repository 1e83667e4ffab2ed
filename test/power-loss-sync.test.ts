/** Power loss along a traced run with durability 'sync' (see helpers/power-loss/harness.ts). */
import './helpers/start.js';
import { MIN_CRASH_STATES, testPowerLoss } from './helpers/power-loss/harness.js';

testPowerLoss({ name: "durability 'sync', 2 workers, from an empty directory", workers: 2, durability: 'sync', minStates: MIN_CRASH_STATES });
