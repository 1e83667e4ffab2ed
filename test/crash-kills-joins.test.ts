/**
 * Crash recovery of jobs beyond one window: an interval join of the events, and stages with a join of two
 * pipelines' results; SIGKILL at random moments, and rescaling (see test/helpers/crash.ts).
 */
import { testJoinedJob, testStagedJob } from './helpers/crash.js';

testJoinedJob();
testStagedJob();
