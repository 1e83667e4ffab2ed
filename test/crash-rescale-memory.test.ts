/** Crash recovery on the memory state backend: rescaling across crashes (see test/helpers/crash.ts). */
import { testRescaling } from './helpers/crash.js';

testRescaling('memory');
