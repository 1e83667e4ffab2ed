/**
 * The states a power cut could leave on disk, rebuilt from a trace of file calls (fs-recorder.ts).
 *
 * The model is POSIX's, which promises less than ext4 (data=ordered, its default) or any other Linux file
 * system keeps, so every state those could leave is among the ones built here:
 * - A file's bytes and length are durable once the file is fsynced (or fdatasynced) after they were
 *   written; a directory's entries (a name made, renamed, linked or removed) once the directory is fsynced.
 *   fsync of a file does not make its name durable, nor fsync of a directory the files' contents.
 * - Anything not yet made durable may or may not have reached the disk, independently of everything else:
 *   any subset of those calls, in any combination, applied in the order they were made. A rename is one
 *   call (it moves the name or does not). A write may also be torn: only its first sectors (512 bytes, at
 *   sector boundaries of the file) reached the disk. A write that reached the disk while an earlier one to
 *   the same file did not leaves a hole of zeros.
 * - A file whose name did not reach the disk is gone, whatever of its contents did.
 *
 * Files are inodes, as on disk: a name points to one, a rename moves the name, so a file written before its
 * rename keeps its bytes under the new name. Paths are relative to the root the traced run worked in.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { TraceOp } from './fs-recorder.js';

type Inode = { dir: false; data: Buffer } | { dir: true; entries: Map<string, number> };

/** A trace call as an operation on inodes, the paths resolved as they stood when it was made. */
type ModelOp =
  | { kind: 'write'; ino: number; at: number; bytes: Buffer }
  | { kind: 'truncate'; ino: number; size: number }
  /** Names set (to an inode) or removed (null) in one directory, all at once. */
  | { kind: 'entry'; ino: number; changes: Array<[string, number | null]> }
  | { kind: 'sync'; ino: number }
  | { kind: 'mark'; mark: Record<string, unknown> };

/** A crash state: the files and directories reachable from the root, by relative path. */
export type Tree = Map<string, Buffer | null>;

export interface CrashState {
  /** Crash after this many operations of the trace had been made. */
  point: number;
  /** Nothing that was not durable reached the disk: what any file system must keep. */
  minimal: boolean;
  tree: Tree;
  /** Content hash of the whole tree: distinct states have distinct hashes. */
  hash: string;
}

const SECTOR = 512;

export class CrashModel {
  private readonly base: Inode[] = [];
  private readonly ops: ModelOp[] = [];
  /** The call each op came from. */
  private readonly calls: TraceOp[] = [];
  /** For each op, the index of the sync that made it durable (Infinity: none did). */
  private readonly durableAt: number[] = [];
  /** The marks the traced run made (acknowledgements, released results), with the point each came at. */
  private readonly marks: Array<{ at: number; mark: Record<string, unknown> }> = [];

  /**
   * `root`: the directory the traced run worked in; `baseFiles`: what it held when the run began (see
   * readTree; taken to be durable); `trace`: the run's calls.
   */
  constructor(root: string, baseFiles: Map<string, Buffer | null>, trace: TraceOp[]) {
    this.base.push({ dir: true, entries: new Map() });
    for (const [path, data] of [...baseFiles].sort(([a], [b]) => a.split('/').length - b.split('/').length)) {
      const parent = this.resolve(this.base, dirname(path)) as number;
      this.base.push(data === null ? { dir: true, entries: new Map() } : { dir: false, data });
      (this.base[parent] as { entries: Map<string, number> }).entries.set(basename(path), this.base.length - 1);
    }
    // The volatile file system, as the running process saw it: names only.
    const live: Inode[] = this.base.map((i) => (i.dir ? { dir: true, entries: new Map(i.entries) } : { dir: false, data: Buffer.alloc(0) }));
    const rel = (p: string) => {
      const r = relative(root, p);
      if (r.startsWith('..')) throw new Error(`the trace writes outside ${root}: ${p}`);
      return r === '' ? '.' : r;
    };
    const at = (p: string) => {
      const ino = this.resolve(live, rel(p));
      if (ino === null) throw new Error(`the trace uses ${p}, which is not there`);
      return ino;
    };
    const inDir = (p: string) => ({ dir: at(dirname(p)), name: basename(p) });
    const entry = (dir: number, changes: Array<[string, number | null]>) => {
      const entries = (live[dir] as { entries: Map<string, number> }).entries;
      for (const [name, ino] of changes) if (ino === null) entries.delete(name); else entries.set(name, ino);
      this.ops.push({ kind: 'entry', ino: dir, changes });
    };
    const made = (p: string, dir: boolean) => {
      // Threads log their calls after making them, so one thread's mkdir of (or file in) a directory another
      // has just made may come first: the parent is made then, and its own line later finds it there.
      if (dir && this.resolve(live, rel(p)) !== null) return;
      if (this.resolve(live, rel(dirname(p))) === null) made(dirname(p), true);
      const { dir: parent, name } = inDir(p);
      live.push(dir ? { dir: true, entries: new Map() } : { dir: false, data: Buffer.alloc(0) });
      this.base.push(dir ? { dir: true, entries: new Map() } : { dir: false, data: Buffer.alloc(0) });
      entry(parent, [[name, live.length - 1]]);
    };
    for (const [i, op] of trace.entries()) {
      switch (op.op) {
        case 'mkdir': made(op.path, true); break;
        case 'create': made(op.path, false); break;
        case 'write': this.ops.push({ kind: 'write', ino: at(op.path), at: op.at, bytes: Buffer.from(op.data, 'base64') }); break;
        case 'truncate': this.ops.push({ kind: 'truncate', ino: at(op.path), size: op.size }); break;
        case 'fsync':
          // Likewise a directory's fsync by a thread whose mkdir found it made (mkdirDurable syncs its parent
          // then) may come before the line of the thread that made it.
          if (this.resolve(live, rel(op.path)) === null && trace.slice(i + 1).some((o) => o.op === 'mkdir' && o.path === op.path)) made(op.path, true);
          this.ops.push({ kind: 'sync', ino: at(op.path) });
          break;
        case 'unlink': case 'rmdir': { const { dir, name } = inDir(op.path); entry(dir, [[name, null]]); break; }
        case 'link': { const ino = at(op.path); const { dir, name } = inDir(op.to); entry(dir, [[name, ino]]); break; }
        case 'rename': {
          const ino = at(op.path);
          const from = inDir(op.path);
          const to = inDir(op.to);
          if (from.dir !== to.dir) throw new Error(`a rename across directories (${op.path} → ${op.to}) is not modelled`);
          entry(to.dir, [[to.name, ino], [from.name, null]]);
          break;
        }
        case 'mark': this.ops.push({ kind: 'mark', mark: op.mark }); break;
      }
      while (this.calls.length < this.ops.length) this.calls.push(op);
    }
    // An op is durable from the first later sync of its inode (a file's data, a directory's entries).
    const nextSync = new Map<number, number>();
    for (let i = this.ops.length - 1; i >= 0; i--) {
      const op = this.ops[i];
      if (op.kind === 'sync') nextSync.set(op.ino, i);
      this.durableAt[i] = op.kind === 'mark' || op.kind === 'sync' ? -1 : nextSync.get(op.ino) ?? Infinity;
    }
    this.ops.forEach((op, at) => { if (op.kind === 'mark') this.marks.push({ at, mark: op.mark }); });
  }

  /** The marks made before a crash after `point` operations. */
  marksBefore(point: number): Array<Record<string, unknown>> {
    return this.marks.filter((m) => m.at < point).map((m) => m.mark);
  }

  get length(): number {
    return this.ops.length;
  }

  /** The inodes as the ops durable by `this.at` left them, and the ops before it not durable yet. */
  private durable: Inode[] = [];
  private pending: number[] = [];
  private at = -1;

  private advance(point: number): void {
    if (point < this.at) throw new Error('crash points must be visited in order');
    if (this.at < 0) {
      this.durable = this.base.slice();
      this.at = 0;
    }
    for (; this.at < point; this.at++) {
      const op = this.ops[this.at];
      if (op.kind !== 'sync') {
        if (op.kind !== 'mark') this.pending.push(this.at);
        continue;
      }
      const now = this.at;
      const covered = this.pending.filter((j) => this.durableAt[j] === now);
      this.pending = this.pending.filter((j) => this.durableAt[j] !== now);
      this.durable = apply(this.durable, covered.map((j) => this.ops[j]));
    }
  }

  /** The call op `index` came from (a call is one op, or more when a directory's parent is made first). */
  callOf(index: number): TraceOp {
    return this.calls[index];
  }

  /** The calls made before `point` that were not durable yet (points in increasing order, as for statesAt). */
  pendingAt(point: number): TraceOp[] {
    this.advance(point);
    return this.pending.map((j) => this.calls[j]);
  }

  /**
   * States a crash after `point` operations could leave (points in increasing order): the minimal one, the
   * one with everything (what a process crash leaves), and more: every subset of what was not yet durable
   * when there are at most `budget.subsets` of them, a sample of that many otherwise (each one left out
   * alone, prefixes, random subsets), and torn writes (about `budget.tears`, shared by the pending writes).
   */
  statesAt(point: number, budget: { subsets: number; tears: number }, random: () => number): CrashState[] {
    this.advance(point);
    const pending = this.pending;
    const choices: Array<{ keep: number[]; tear?: [number, number] }> = [{ keep: [] }, { keep: pending }];
    if (2 ** pending.length <= budget.subsets + 2) {
      for (let m = 1; m < 2 ** pending.length - 1; m++) choices.push({ keep: pending.filter((_, b) => m & (1 << b)) });
    } else {
      const pick = (n: number) => Math.floor(random() * n);
      for (let i = 0; i < budget.subsets / 3; i++) { const drop = pick(pending.length); choices.push({ keep: pending.filter((_, b) => b !== drop) }); }
      for (let i = 0; i < budget.subsets / 3; i++) choices.push({ keep: pending.slice(0, pick(pending.length)) });
      for (let i = 0; i < budget.subsets / 3; i++) choices.push({ keep: pending.filter(() => random() < 0.5) });
    }
    // Torn writes: each pending write, the newest first, cut at some of its sector boundaries (its share
    // of the budget), with the calls before it kept or a random subset of them.
    const writes = pending.filter((j) => this.ops[j].kind === 'write').reverse();
    const share = Math.max(4, Math.floor(budget.tears / Math.max(1, writes.length)));
    for (const w of writes) {
      const op = this.ops[w] as { at: number; bytes: Buffer };
      const cuts = [];
      for (let c = Math.ceil((op.at + 1) / SECTOR) * SECTOR; c < op.at + op.bytes.length; c += SECTOR) cuts.push(c - op.at);
      for (let i = 0; i < Math.min(cuts.length, share); i++) {
        const cut = cuts.length <= share ? cuts[i] : cuts[Math.floor(random() * cuts.length)];
        const keepEarlier = i % 2 === 0;
        choices.push({ keep: pending.filter((j) => j === w || (j < w && keepEarlier) || random() < 0.5), tear: [w, cut] });
      }
    }
    const states = new Map<string, CrashState>();
    for (const choice of choices) {
      const ops = choice.keep.map((j) => {
        const op = this.ops[j];
        return choice.tear?.[0] === j && op.kind === 'write' ? { ...op, bytes: op.bytes.subarray(0, choice.tear[1]) } : op;
      });
      const tree = treeOf(apply(this.durable, ops));
      const hash = treeHash(tree);
      const minimal = choice.keep.length === 0;
      const known = states.get(hash);
      if (known) known.minimal ||= minimal;
      else states.set(hash, { point, minimal, tree, hash });
    }
    return [...states.values()];
  }

  private resolve(inodes: Inode[], path: string): number | null {
    let ino = 0;
    for (const part of path === '.' ? [] : path.split('/')) {
      const node = inodes[ino];
      const next = node.dir ? node.entries.get(part) : undefined;
      if (next === undefined) return null;
      ino = next;
    }
    return ino;
  }
}

/** `ops` applied to `inodes`, in order, copying only the inodes they change. */
function apply(inodes: Inode[], ops: ModelOp[]): Inode[] {
  const out = inodes.slice();
  const copied = new Set<number>();
  const own = (ino: number) => {
    if (!copied.has(ino)) {
      const i = out[ino];
      out[ino] = i.dir ? { dir: true, entries: new Map(i.entries) } : { dir: false, data: i.data };
      copied.add(ino);
    }
    return out[ino];
  };
  for (const op of ops) {
    if (op.kind === 'entry') {
      const { entries } = own(op.ino) as { entries: Map<string, number> };
      for (const [name, ino] of op.changes) if (ino === null) entries.delete(name); else entries.set(name, ino);
    } else if (op.kind === 'truncate') {
      const file = own(op.ino) as { data: Buffer };
      file.data = op.size <= file.data.length ? file.data.subarray(0, op.size) : Buffer.concat([file.data, Buffer.alloc(op.size - file.data.length)]);
    } else if (op.kind === 'write') {
      const file = own(op.ino) as { data: Buffer };
      const data = Buffer.alloc(Math.max(file.data.length, op.at + op.bytes.length));
      file.data.copy(data);
      op.bytes.copy(data, op.at);
      file.data = data;
    }
  }
  return out;
}

/** The files and directories reachable from the root. */
function treeOf(inodes: Inode[]): Tree {
  const tree: Tree = new Map();
  const walk = (ino: number, path: string) => {
    const node = inodes[ino];
    if (!node.dir) return void tree.set(path, node.data);
    if (path !== '.') tree.set(path, null);
    for (const [name, child] of [...node.entries].sort(([a], [b]) => (a < b ? -1 : 1))) walk(child, path === '.' ? name : `${path}/${name}`);
  };
  walk(0, '.');
  return tree;
}

const hashes = new WeakMap<Buffer, string>();

/** A buffer's content hash, computed once per buffer (the durable files' buffers are shared by many states). */
export function contentHash(data: Buffer): string {
  let h = hashes.get(data);
  if (h === undefined) {
    h = createHash('sha1').update(data).digest('hex');
    hashes.set(data, h);
  }
  return h;
}

function treeHash(tree: Tree): string {
  const h = createHash('sha1');
  for (const [path, data] of tree) h.update(`${path}\0${data === null ? 'D' : contentHash(data)}\0`);
  return h.digest('hex');
}

/** A directory's files (bytes) and directories (null), by path relative to it: the base of a trace. */
export function readTree(root: string): Map<string, Buffer | null> {
  const out = new Map<string, Buffer | null>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (statSync(join(root, path)).isDirectory()) {
        out.set(path, null);
        walk(path);
      } else out.set(path, readFileSync(join(root, path)));
    }
  };
  walk('');
  return out;
}

/** Write a crash state under `dir` (which must not exist). */
export function writeTree(dir: string, tree: Tree): void {
  mkdirSync(dir, { recursive: true });
  for (const [path, data] of tree) {
    if (data === null) mkdirSync(join(dir, path), { recursive: true });
    else writeFileSync(join(dir, path), data);
  }
}
