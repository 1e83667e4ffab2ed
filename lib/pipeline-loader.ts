import { KeyflowError, codes, describeThrown } from './errors.js';
import { pipelinesExportedBy, type Pipeline } from './pipeline.js';

/** Import a pipeline module and return every pipeline it exports. */
export async function importPipelines(moduleUrl: string): Promise<Pipeline[]> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(moduleUrl);
  } catch (err) {
    throw new KeyflowError(codes.PIPELINE_MODULE, `cannot import pipeline module ${moduleUrl}: ${describeThrown(err)}`);
  }
  return pipelinesExportedBy(mod);
}

/** Find the pipeline `name` among those `moduleUrl` exports, as a worker thread must. */
export async function loadPipeline(name: string, moduleUrl: string): Promise<Pipeline> {
  const found = (await importPipelines(moduleUrl)).find((p) => p.name === name);
  if (!found) {
    throw new KeyflowError(codes.PIPELINE_MODULE,
      `pipeline '${name}' is not exported by ${moduleUrl}: worker threads import that module to run it, so export the pipeline there (directly, or in an exported array or object), or pass start({ module }) naming the module that does`);
  }
  return found;
}
