/** Crash recovery on the memory state backend: SIGKILL at random moments, also with ingest() calls in flight (see test/helpers/crash.ts). */
import { testInFlight, testRandomKills } from './helpers/crash.js';

testRandomKills('memory');
testInFlight();
