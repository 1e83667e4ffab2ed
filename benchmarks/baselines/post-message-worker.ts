/** A postMessage baseline worker: runs the plain computation on the events it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { Plain, type WorkloadName } from './plain.js';

let results: unknown[] = [];
const plain = new Plain(workerData.workload as WorkloadName, (r) => results.push(r));

parentPort!.on('message', (m: { values?: unknown[]; wms?: number[]; wm?: number; end?: boolean; batch: number }) => {
  if (m.values) for (let i = 0; i < m.values.length; i++) plain.add(m.values[i], m.wms![i]);
  if (m.wm !== undefined) plain.advance(m.wm);
  if (m.end) plain.finish();
  parentPort!.postMessage({ batch: m.batch, results });
  results = [];
});
