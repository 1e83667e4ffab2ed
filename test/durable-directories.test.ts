import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/cli.js';

// A new directory is an entry in its parent, and survives a power cut only once the parent is fsynced:
// fsyncing the files inside it does not make it durable. SIGKILL tests cannot see this (the page cache
// survives them), so this test records the file-system calls of a real durable run with strace and
// checks that every directory the engine creates (the state directory and its missing parents, each
// actor's WAL directory, each checkpoint's snapshot directory) is fsynced into its parent by the thread
// that made it.

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.js', import.meta.url));

function straceWorks(): boolean {
  try {
    execFileSync('strace', ['-f', '-o', '/dev/null', process.execPath, '-e', '0'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Created {
  dir: string;
  /** Whether the thread that created it then fsynced its parent. */
  parentSynced: boolean;
}

/** The directories under `root` each traced thread created, and whether it then fsynced their parent. */
function createdDirs(trace: string, root: string): Created[] {
  const created: Created[] = [];
  const fdPath = new Map<string, string>();
  for (const line of trace.split('\n')) {
    const made = /^mkdir(?:at\(AT_FDCWD, |\()"([^"]+)", [0-7]+\)\s+=\s+0/.exec(line);
    if (made && made[1].startsWith(root)) created.push({ dir: made[1], parentSynced: false });
    const opened = /^openat\(AT_FDCWD, "([^"]+)", [^)]*\)\s+=\s+(\d+)/.exec(line);
    if (opened) fdPath.set(opened[2], opened[1]);
    const closed = /^close\((\d+)\)\s+=\s+0/.exec(line);
    if (closed) fdPath.delete(closed[1]);
    const synced = /^f(?:data)?sync\((\d+)\)\s+=\s+0/.exec(line);
    if (synced) {
      const path = fdPath.get(synced[1]);
      for (const c of created) if (dirname(c.dir) === path) c.parentSynced = true;
    }
  }
  return created;
}

t.test('every directory a durable run creates is fsynced into its parent', { skip: straceWorks() ? false : 'strace cannot run here (it is needed to record file-system calls)' }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'keyflow-durable-dirs-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  // The state directory's parents do not exist yet either.
  const stateDir = join(root, 'a', 'b', 'state');
  const traces = join(root, 'trace');
  const out = join(root, 'out.ndjson');
  const run = await runNode(['-e', `require('node:child_process').execFileSync('strace', ['-ff', '-o', ${JSON.stringify(traces)}, '-e', 'trace=mkdir,mkdirat,openat,close,fsync,fdatasync',
    process.execPath, ${JSON.stringify(CHILD)}, ${JSON.stringify(stateDir)}, ${JSON.stringify(out)}, ${JSON.stringify(join(root, 'acks.log'))}, '20000', '2'], { stdio: 'inherit' })`],
  { timeoutMs: 120_000, env: { SNAPSHOT_EVERY_MS: '20' } });
  t.equal(run.code, 0, `the run ends well (stderr: ${run.stderr})`);
  const created: Created[] = [];
  for (const file of (await readdir(root)).filter((f) => f.startsWith('trace.'))) created.push(...createdDirs(await readFile(join(root, file), 'utf8'), root));
  const dirs = created.map((c) => c.dir.slice(root.length));
  for (const expected of ['/a', '/a/b', '/a/b/state', '/a/b/state/wal', '/a/b/state/snapshots']) t.ok(dirs.includes(expected), `${expected} was created`);
  t.ok(dirs.some((d) => /^\/a\/b\/state\/wal\/[^/]+$/.test(d)), 'an actor\'s WAL directory was created');
  t.ok(dirs.some((d) => /^\/a\/b\/state\/snapshots\/\d+$/.test(d)), 'a checkpoint\'s snapshot directory was created');
  t.same(created.filter((c) => !c.parentSynced).map((c) => c.dir.slice(root.length)), [], 'each was fsynced into its parent');
});
