/** Crash recovery on the lmdb state backend: SIGKILL at random moments (see test/helpers/crash.ts). */
import { testRandomKills } from './helpers/crash.js';

testRandomKills('lmdb');
