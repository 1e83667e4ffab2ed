/** Crash recovery with a parallel source: SIGKILL at random moments and rescaling (see test/helpers/crash.ts). */
import { testParallelSource } from './helpers/crash.js';

testParallelSource();
