import { readFileSync } from 'node:fs';
import { durableFs as fs } from '../../shared/durability/durable-fs.js';
import { KeyflowError, codes } from '../../shared/errors.js';
import { lockClaimPath, staleLockPath } from '../../shared/durability/state-layout.js';

/**
 * A lock file that gives one process at a time a state directory or an exactly-once output. It holds
 * the owner's pid (and the machine's boot, see BOOT_ID) and is created atomically, content and all
 * (written aside, then hard-linked into place, which fails if the name exists). A lock whose pid is no longer running (a crashed or killed
 * run) is taken over at once; a live one is refused. Released by `release()`, or when the process exits.
 */
export interface Lock {
  readonly path: string;
  release(): void;
}

const held = new Set<Lock>();
let exitHookInstalled = false;

/** Take `path` for this process, or throw ERR_KEYFLOW_STATE_DIR naming `what` and the process that has it. */
export function acquireLock(path: string, what: string): Lock {
  const mine = lockClaimPath(path, process.pid);
  try {
    fs.writeFileSync(mine, `${process.pid}\n${BOOT_ID}\n`);
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(mine, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readPid(path);
      // Our own pid on a lock we do not hold was left by an earlier process that had the same pid (pids
      // repeat across restarts in a container): stale, like any dead owner's.
      const live = owner === process.pid ? [...held].some((l) => l.path === path) : owner !== null && isAlive(owner);
      if (live) {
        throw new KeyflowError(codes.STATE_DIR, `${what} is in use by process ${owner}${owner === process.pid ? ' (this process: another engine)' : ''}: `
          + `one engine at a time may own it. Stop that run first; if no keyflow run has pid ${owner}, remove ${path}`, { path, pid: owner });
      }
      if (attempt === 2) throw new Error(`could not take over the stale lock ${path}`);
      removeStale(path, owner);
    }
  } catch (err) {
    if (err instanceof KeyflowError) throw err;
    throw new KeyflowError(codes.STATE_DIR, `cannot lock ${what} (${path}): ${(err as Error).message}`, { path });
  } finally {
    fs.rmSync(mine, { force: true });
  }
  const lock: Lock = {
    path,
    release: () => {
      if (!held.delete(lock)) return;
      if (readPid(path) === process.pid) fs.rmSync(path, { force: true });
    },
  };
  held.add(lock);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => { for (const l of [...held]) l.release(); });
  }
  return lock;
}

/**
 * This boot of the machine (Linux; empty elsewhere). A lock names its owner's boot as well as its pid: after
 * a power cut or a reboot, a lock left behind names a process of another boot, stale whatever now runs
 * with that pid.
 */
const BOOT_ID = readBootId();

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** The pid a lock names, or null: none, unreadable, or a process of another boot. */
function readPid(path: string): number | null {
  try {
    const [first, boot] = readFileSync(path, 'utf8').split('\n');
    const pid = Number(first.trim());
    if (boot && BOOT_ID && boot.trim() !== BOOT_ID) return null;
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove a lock left by a dead process. Two processes may find the same dead owner; the lock is renamed
 * aside first (only one rename wins), and a live owner's lock moved aside by mistake is put back.
 */
function removeStale(path: string, deadOwner: number | null): void {
  const aside = staleLockPath(path, process.pid);
  try {
    fs.renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const owner = readPid(aside);
  if (owner !== deadOwner && owner !== null && isAlive(owner)) {
    try { fs.linkSync(aside, path); } catch { /* a third process has it now; the next attempt sees its pid */ }
  }
  fs.rmSync(aside, { force: true });
}
