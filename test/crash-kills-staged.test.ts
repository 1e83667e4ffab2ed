/** Crash recovery of a job in stages with a join of two pipelines' results: SIGKILL at random moments, and rescaling (see test/helpers/crash.ts). */
import { testStagedJob } from './helpers/crash.js';

testStagedJob();
