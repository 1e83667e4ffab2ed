import { pathToFileURL } from 'node:url';

const FRAME = /(file:\/\/[^\s)]+?|\/[^\s)]+?):\d+:\d+\)?$/;

/**
 * The file URL of the module that called into keyflow, read from the stack. Worker threads must import
 * the module that defines a pipeline to get its functions; this lets `pipeline(name)` record it
 * without the user passing `import.meta.url` (which they still may).
 */
export function callerModuleUrl(ownFiles: string[]): string | undefined {
  const stack = new Error().stack ?? '';
  for (const line of stack.split('\n').slice(1)) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    const url = m[1].startsWith('file://') ? m[1] : pathToFileURL(m[1]).href;
    if (url === import.meta.url || ownFiles.includes(url)) continue;
    return url;
  }
  return undefined;
}
