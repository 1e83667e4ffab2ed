import { KeyflowError, codes, configError, describeThrown } from '../shared/errors.js';
import { pipelinesExportedBy, type Pipeline } from './pipeline.js';

/** How long an import of a module that is calling start() may take before it is taken for a cycle. */
const SELF_IMPORT_WAIT_MS = 3000;

/**
 * Import a pipeline module and return every pipeline it exports. `callers` are the modules on the
 * synchronous call stack of start(): if the module is one of them, it may still be evaluating (see
 * unlessWaitingOnItself).
 */
export async function importPipelines(moduleUrl: string, callers: readonly string[] = []): Promise<Pipeline[]> {
  const importing = import(moduleUrl) as Promise<Record<string, unknown>>;
  if (callers.includes(moduleUrl)) await unlessWaitingOnItself(importing, moduleUrl);
  let mod: Record<string, unknown>;
  try {
    mod = await importing;
  } catch (err) {
    throw new KeyflowError(codes.PIPELINE_MODULE, `cannot import pipeline module ${moduleUrl}: ${describeThrown(err)}`);
  }
  return pipelinesExportedBy(mod);
}

/**
 * A module that awaits start({ module: import.meta.url }) at its top level waits for start(), which
 * waits to import the module, which waits for the module's evaluation to finish: a cycle Node ends with
 * exit code 13 and no message (or never, if something else keeps the process alive). Refuse it once the
 * event loop has nothing else to do, or after SELF_IMPORT_WAIT_MS. A module that is already evaluated
 * (start() called later from one of its functions) imports at once.
 */
async function unlessWaitingOnItself(importing: Promise<unknown>, moduleUrl: string): Promise<void> {
  let giveUp!: () => void;
  const stalled = new Promise<never>((_, reject) => {
    giveUp = () => reject(configError(`start() imports ${moduleUrl}, the module calling it, which is still being evaluated (it awaits start() at its top level): `
      + 'the import would wait on itself forever. Keep the pipelines in a module of their own and call start() from another module'));
  });
  const timer = setTimeout(giveUp, SELF_IMPORT_WAIT_MS).unref();
  process.once('beforeExit', giveUp);
  try {
    await Promise.race([importing.then(() => {}, () => {}), stalled]);
  } finally {
    clearTimeout(timer);
    process.off('beforeExit', giveUp);
  }
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
