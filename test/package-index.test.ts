import t from 'tap';
import { readFileSync } from 'node:fs';
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
