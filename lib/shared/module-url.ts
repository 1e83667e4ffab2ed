import { pathToFileURL } from 'node:url';

/**
 * The file URL of the module that called into keyflow. Worker threads must import the module that
 * defines a pipeline to get its functions; this lets `pipeline(name)` record it without the user
 * passing `import.meta.url` (which they still may).
 *
 * It reads V8's structured call sites rather than the stack text: with source maps enabled the text
 * names the original .ts file, while a worker must import the file that actually runs.
 */
export function callerModuleUrl(ownFiles: string[]): string | undefined {
  return stackModuleUrls().find((url) => url !== import.meta.url && !ownFiles.includes(url));
}

/** The file URLs of the modules with a frame on the current synchronous call stack, innermost first. */
export function stackModuleUrls(): string[] {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back, never called here
  const original = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.prepareStackTrace = (_err, callSites) => callSites;
    Error.stackTraceLimit = 64;
    sites = (new Error().stack as unknown as NodeJS.CallSite[]) ?? [];
  } finally {
    Error.prepareStackTrace = original;
    Error.stackTraceLimit = limit;
  }
  const urls: string[] = [];
  for (const site of sites) {
    const file = site.getFileName();
    if (!file || file.startsWith('node:')) continue;
    urls.push(file.startsWith('file://') ? file : pathToFileURL(file).href);
  }
  return urls;
}
