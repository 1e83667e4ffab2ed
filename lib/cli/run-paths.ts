import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { KeyflowError, codes } from '../shared/errors.js';
import { UsageError } from './usage-error.js';

/**
 * The files of `keyflow run`, checked before the engine starts: two flags naming one file would clobber
 * it (usage error), and an input that is not there or an output that cannot be created is reported in
 * one line, rather than as a stack once the run is under way.
 */
export interface RunPaths {
  /** Absent when the events come from a broker (--from). */
  input?: string | undefined;
  output: string;
  late?: string | undefined;
  errors?: string | undefined;
}

export function checkRunPaths(paths: RunPaths): void {
  const named = (['input', 'output', 'late', 'errors'] as const).flatMap((flag) => (paths[flag] === undefined ? [] : [{ flag, path: paths[flag] }]));
  const seen = new Map<string, string>();
  for (const { flag, path } of named) {
    // '-' is stdin for --input, stdout for the others: two outputs on stdout would interleave too.
    const id = path === '-' ? (flag === 'input' ? '<stdin>' : '<stdout>') : identity(path);
    const other = seen.get(id);
    if (other) throw new UsageError(`--${other} and --${flag} name the same ${path === '-' ? 'stream' : 'file'} (${path}): give each its own`);
    seen.set(id, flag);
  }
  for (const { flag, path } of named) {
    if (path === '-') continue;
    if (flag === 'input') checkInput(path);
    else checkOutput(flag, path);
  }
}

/** One name per file: symbolic links and relative paths resolved, also for a file not created yet. */
function identity(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return join(realpathSync(dirname(path)), basename(path));
    } catch {
      return resolve(path);
    }
  }
}

function checkInput(path: string): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) throw new KeyflowError(codes.CONFIG, `--input ${path}: no such file`);
  if (stat.isDirectory()) throw new KeyflowError(codes.CONFIG, `--input ${path} is a directory, not a file of events`);
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new KeyflowError(codes.CONFIG, `--input ${path} cannot be read: ${(err as Error).message}`);
  }
}

function checkOutput(flag: string, path: string): void {
  let stat;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    // ENOTDIR: a path under a regular file.
    throw new KeyflowError(codes.OUTPUT, `--${flag} ${path} cannot be created: ${(err as Error).message}`);
  }
  if (stat?.isDirectory()) throw new KeyflowError(codes.OUTPUT, `--${flag} ${path} is a directory: give a file path`);
  const dir = dirname(path);
  const parent = statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined && parent === undefined) throw new KeyflowError(codes.OUTPUT, `--${flag} ${path} cannot be created: directory ${dir} does not exist`);
  if (stat === undefined && !parent!.isDirectory()) throw new KeyflowError(codes.OUTPUT, `--${flag} ${path} cannot be created: ${dir} is not a directory`);
  try {
    accessSync(stat === undefined ? dir : path, constants.W_OK);
  } catch (err) {
    throw new KeyflowError(codes.OUTPUT, `--${flag} ${path} cannot be written: ${(err as Error).message}`);
  }
}
