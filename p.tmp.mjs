import { measureKeyflow } from './dist/benchmarks/measure.js';
const r = await measureKeyflow(process.argv[2], 1_000_000, 2, 'none');
console.log(Math.round(r.eventsPerSecond), Math.round(r.perCore));
