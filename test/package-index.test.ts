import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Every actor and source thread imports the user's pipeline module, and with it the package index: what the
// index imports statically is loaded in each of them. The engine (its calling-thread modules, the pool, the
// metrics) must stay behind start()'s dynamic import.

const LIB = fileURLToPath(new URL('../lib/', import.meta.url));

/** The modules and packages `entry` imports statically, transitively (`import … from`, `export … from`, bare `import '…'`). */
function staticImports(entry: string): { modules: string[]; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec);
    }
  };
  visit(entry);
  return { modules: [...seen].map((f) => relative(LIB, f)), packages: [...packages] };
}

t.test('the package index loads the pipeline API, not the engine', async (t) => {
  const { modules, packages } = staticImports(resolve(LIB, 'index.js'));
  t.ok(modules.includes('pipeline/pipeline.js') && modules.includes('calling-thread/entry-points.js'), `the walk follows imports (${modules.length} modules)`);
  t.same(modules.filter((m) => m.startsWith('calling-thread/') && m !== 'calling-thread/entry-points.js'), [], 'no calling-thread module but the entry points');
  t.same(modules.filter((m) => m.startsWith('actor-thread/') || m.startsWith('pool-thread/')), [], 'no actor or source thread module');
  t.same(packages, [], `no package (${packages.join(', ')})`);
});

// The actor threads run one bundled file (scripts/bundle-actor-thread.ts). A module both inside it and loaded
// by the index would exist twice in a thread: two KeyflowError classes, two engine-thread flags.
t.test('the actor bundle holds no module the index loads, and imports from outside only those and the durable-fs seam', async (t) => {
  const bundlePath = resolve(LIB, 'actor-thread/main.bundle.js');
  const bundle = readFileSync(bundlePath, 'utf8');
  const { inputs } = JSON.parse(readFileSync(resolve(LIB, 'actor-thread/main.bundle.json'), 'utf8')) as { inputs: string[] };
  const built = statSync(bundlePath).mtimeMs;
  t.ok(inputs.every((i) => statSync(resolve(LIB, 'actor-thread', i)).mtimeMs <= built), `made after each of the ${inputs.length} files it lists (or the engine would start the modules instead)`);
  const index = new Set(staticImports(resolve(LIB, 'index.js')).modules);
  // esbuild marks where each inlined file begins with a comment naming it.
  const inlined = [...bundle.matchAll(/^\/\/ dist\/lib\/(\S+\.js)$/gm)].map((m) => m[1]);
  t.ok(inlined.includes('actor-thread/main.js') && inlined.includes('actor-thread/actor.js'), `the actor's own modules are in it (${inlined.length})`);
  t.same(inlined.filter((m) => index.has(m)), [], 'none of the index\'s modules is in it');
  t.same(inlined.filter((m) => !inputs.includes(relative(resolve(LIB, 'actor-thread'), resolve(LIB, m)))), [], 'its manifest lists every file in it');
  const outside = [...new Set([...bundle.matchAll(/^import .* from "(\.[^"]+)";$/gm)].map((m) => relative(LIB, resolve(LIB, 'actor-thread', m[1]))))];
  t.ok(outside.length > 0, `it imports keyflow modules from outside (${outside.join(', ')})`);
  t.same(outside.filter((m) => !index.has(m) && m !== 'shared/durability/durable-fs.js'), [], 'only the index\'s and durable-fs.js');
});
