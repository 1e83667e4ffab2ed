/** Crash recovery on the lmdb state backend: rescaling across crashes (see test/helpers/crash.ts). */
import { testRescaling } from './helpers/crash.js';

testRescaling('lmdb');
