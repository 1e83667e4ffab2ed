/**
 * Bundles an actor thread's code into one file, dist/lib/actor-thread/main.bundle.js, which the engine
 * starts its actor threads on (see lib/calling-thread/actor-thread.ts). Run by `npm run build`, after tsc.
 *
 * Every thread loads its modules anew, and the ESM loader resolves, reads and links each one: the actor's
 * 70 modules and its two packages took each thread about 60 ms of CPU more than one file holding them.
 * Modules the package's index loads stay outside the bundle, imported from where tsc put them: an actor
 * thread imports the user's pipeline module, which imports keyflow's index, and the index's modules must
 * be the same instances on both sides (the classes `instanceof` tests, the symbols that mark stored state,
 * the flag that says a thread is an engine thread). So nothing is loaded twice. durable-fs.js stays outside
 * too: it is the one object every durable file call goes through, which the power-loss tests replace in
 * every thread (test/helpers/power-loss/fs-recorder.ts).
 *
 * Beside it, main.bundle.json lists the files it was made from: tsc builds incrementally and re-emits only
 * what changed, so the engine compares the bundle with each of them before trusting it.
 */
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../lib/', import.meta.url));
const outDir = resolve(dist, 'actor-thread');

/** The files the package's index loads as it is imported (not those its functions import() when called). */
async function indexFiles(): Promise<Set<string>> {
  const index = resolve(dist, 'index.js');
  const { metafile } = await build({ entryPoints: [index], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent', packages: 'external', absWorkingDir: dist });
  const files = new Set<string>();
  const visit = (input: string) => {
    // The metafile names files relative to absWorkingDir.
    if (files.has(resolve(dist, input))) return;
    files.add(resolve(dist, input));
    for (const i of metafile.inputs[input].imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(relative(dist, index));
  return files;
}

const shared = await indexFiles();
shared.add(resolve(dist, 'shared/durability/durable-fs.js'));
const root = resolve(dist, '../..');
const { metafile } = await build({
  entryPoints: [resolve(outDir, 'main.js')],
  outfile: resolve(outDir, 'main.bundle.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  metafile: true,
  // Paths in the bundle's comments and source map are the package's, wherever the build runs from.
  absWorkingDir: root,
  // A native addon, import()ed only when asked for, from where npm put it.
  external: ['lmdb'],
  plugins: [{
    name: 'index-modules-outside',
    setup(b) {
      b.onResolve({ filter: /^\./ }, ({ path, resolveDir }) => {
        const file = resolve(resolveDir, path);
        if (!shared.has(file)) return undefined;
        const fromBundle = relative(outDir, file);
        return { path: fromBundle.startsWith('.') ? fromBundle : `./${fromBundle}`, external: true };
      });
    },
  }],
});
// keyflow's own files, relative to the bundle (the metafile names them relative to absWorkingDir). Not the
// packages inlined (comlink, cbor-x): the bundle holds its own copy, and where npm put them varies.
const inputs = Object.keys(metafile.inputs).filter((input) => !input.includes('node_modules/')).map((input) => relative(outDir, resolve(root, input)));
writeFileSync(resolve(outDir, 'main.bundle.json'), JSON.stringify({ inputs }, null, 2) + '\n');
