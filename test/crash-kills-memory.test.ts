/** Crash recovery on the memory state backend: SIGKILL at random moments (see test/helpers/crash.ts). */
import { testRandomKills } from './helpers/crash.js';

testRandomKills('memory');
