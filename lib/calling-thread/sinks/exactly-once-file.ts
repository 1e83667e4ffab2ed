import { fstatSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { durableFs as fs } from '../../shared/durability/durable-fs.js';
import { KeyflowError, codes } from '../../shared/errors.js';
import { crc32c } from '../../shared/durability/crc32c.js';
import { fsyncDir, writeFileAtomic } from '../../shared/durability/files.js';
import { commitPath, outputLockPath } from '../../shared/durability/state-layout.js';
import { acquireLock, type Lock } from '../durability/lock.js';
import { ndjsonLineOrError, type LineBatchView } from '../../shared/codec/line-batch.js';

/**
 * Whose results a sink writes: the state directory's id (null without one: nothing to resume, so no
 * commit record is kept), and whether it resumes from a checkpoint.
 */
export interface SinkOwner {
  stateId: string | null;
  resuming: boolean;
}

/**
 * An NDJSON file that holds every result exactly once across crashes and restarts.
 *
 * Results are numbered per key-group by the actors, deterministically, so replaying input after a crash
 * reproduces the same numbers. The sink remembers, per key-group, the highest number written and
 * skips anything at or below it. `commit()` makes the file durable and records its length and those
 * numbers in `<file>.commit` (atomically); on open, whatever lies past the committed length (written but
 * not committed when the process died) is cut off, and is written again by the replay; results of the end
 * of input are never committed (see close()), so the next run cuts them off and fires those windows again.
 *
 * The commit record names the state directory whose numbers it holds: an output left by another state
 * directory (one deleted to start over, say) is refused rather than silently skipping the new results.
 * One process at a time writes the file (`<file>.lock`).
 */
export class ExactlyOnceFileSink {
  private readonly fd: number;
  private readonly lock: Lock;
  private readonly high: Float64Array;
  private committed = 0;
  private length: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Set once a write failed: the sink then writes nothing more. */
  private error: KeyflowError | null = null;
  private closed = false;

  /** `onError` hears of a failed write (the sink then writes nothing more). */
  constructor(readonly path: string, maxKeyGroups: number, private readonly owner: SinkOwner,
              private readonly onError: (err: KeyflowError) => void) {
    this.high = new Float64Array(maxKeyGroups);
    this.lock = acquireLock(outputLockPath(path), `output ${path}`);
    try {
      const commit = readCommit(commitPath(path));
      if (commit) checkOwner(path, commit, owner);
      this.fd = openFile(path);
      this.length = commit?.length ?? 0;
      const stat = fstatSync(this.fd);
      if (!stat.isFile()) {
        fs.closeSync(this.fd);
        throw new KeyflowError(codes.OUTPUT, `${path} is not a regular file: an output written exactly once must be one (it is cut back to its last commit on restart)`, { path });
      }
      if (stat.size < this.length) {
        fs.closeSync(this.fd);
        throw new KeyflowError(codes.STATE_DIR, `${path} is shorter than ${commitPath(path)} records (${this.length} bytes): it was cut or replaced. `
          + `To start over, remove ${path}, ${commitPath(path)} and the state directory`, { path });
      }
      if (commit) commit.high.forEach(([kg, n]) => (this.high[kg] = n));
      fs.ftruncateSync(this.fd, this.length);
      // The file's name is durable before any commit record names its length: a power cut could
      // otherwise keep the record's rename and lose the name of a file made by this open.
      fsyncDir(dirname(path));
      this.committed = this.length;
    } catch (err) {
      this.lock.release();
      throw err;
    }
  }

  /**
   * Write result `n` of key-group `kg` unless it is already in the file. A value that cannot be written as
   * JSON is skipped and its error returned (its number still counts as written: a replay skips it too).
   */
  write(kg: number, n: number, value: unknown): Error | null {
    if (!this.claim(kg, n)) return null;
    const line = ndjsonLineOrError(value);
    if (line instanceof Error) return line;
    this.add(Buffer.from(line));
    return null;
  }

  /**
   * Whether result `n` of key-group `kg` is new to the file (and not to be written after a failed write); it
   * counts as written from now on. For a result that cannot be written, so that a replay reports it once.
   */
  claim(kg: number, n: number): boolean {
    if (n <= this.high[kg] || this.error) return false;
    this.high[kg] = n;
    return true;
  }

  /**
   * Write the lines of a batch made by an actor (see line-batch.ts), each unless it is already in the
   * file, as write() does. The bytes are kept, not copied: the batch must not be reused.
   */
  writeLines(batch: LineBatchView): void {
    if (this.error) return;
    const { count } = batch;
    const text = batch.text();
    let fresh = 0;
    for (let i = 0; i < count; i++) if (batch.number(i) > this.high[batch.keyGroup(i)]) fresh++;
    if (fresh === count) {
      for (let i = 0; i < count; i++) this.high[batch.keyGroup(i)] = batch.number(i);
      this.add(text);
      return;
    }
    // Some lines are in the file already (a replay after a crash): keep the others, a line at a time.
    for (let i = 0, start = 0; i < count; i++) {
      const end = text.indexOf(0x0a, start) + 1;
      const kg = batch.keyGroup(i);
      const n = batch.number(i);
      if (n > this.high[kg]) {
        this.high[kg] = n;
        this.add(text.subarray(start, end));
      }
      start = end;
    }
  }

  private add(bytes: Uint8Array): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= 1 << 16) this.flush();
  }

  /**
   * Make everything written so far durable, then record it as committed. Throws (ERR_KEYFLOW_OUTPUT) if the
   * file or its record cannot be written, now or earlier: a checkpoint must not complete past results its
   * sinks do not hold.
   */
  commit(): void {
    this.flush();
    if (this.error) throw this.error;
    if (this.length === this.committed) return;
    try {
      fs.fsyncSync(this.fd);
      if (this.owner.stateId !== null) {
        const high: Array<[number, number]> = [];
        this.high.forEach((n, kg) => { if (n > 0) high.push([kg, n]); });
        const body = JSON.stringify({ stateId: this.owner.stateId, length: this.length, high });
        writeFileAtomic(commitPath(this.path), Buffer.from(`${crc32c(Buffer.from(body))}\n${body}`));
      }
      this.committed = this.length;
    } catch (err) {
      throw this.failed(err);
    }
  }

  /**
   * Write out what is pending and close, without committing it: what came after the last checkpoint (at
   * stop(), the windows fired at the end of input) is provisional. A later run on the same state resumes
   * from that checkpoint, cuts these results off and fires those windows again, updated by new input.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    if (!this.error && this.length !== this.committed) {
      try {
        fs.fsyncSync(this.fd);
      } catch (err) {
        this.failed(err);
      }
    }
    fs.closeSync(this.fd);
    this.lock.release();
  }

  private flush(): void {
    if (this.pending.length === 0 || this.error) return;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (let at = 0; at < data.length;) at += fs.writeSync(this.fd, data, at, data.length - at, null);
      this.length += data.length;
    } catch (err) {
      this.failed(err);
    }
  }

  /** The sink writes nothing more; the engine hears of it (and fails). */
  private failed(err: unknown): KeyflowError {
    this.error ??= new KeyflowError(codes.OUTPUT, `cannot write ${this.path}: ${(err as Error).message}`, { path: this.path });
    this.onError(this.error);
    return this.error;
  }
}

interface CommitRecord {
  /** Absent in records written before state directories had an id. */
  stateId?: string;
  length: number;
  high: Array<[number, number]>;
}

function openFile(path: string): number {
  try {
    return fs.openSync(path, 'a+');
  } catch (err) {
    throw new KeyflowError(codes.OUTPUT, `cannot open ${path} for writing: ${(err as Error).message}`, { path });
  }
}

/**
 * A commit record belongs to the state directory that wrote it. One from before ids (no stateId) is
 * trusted only by a state directory that resumes from a checkpoint (the upgrade case); for a fresh one it
 * must be stale, like a record of another directory.
 */
function checkOwner(path: string, commit: CommitRecord, owner: SinkOwner): void {
  if (commit.stateId === owner.stateId || (commit.stateId === undefined && owner.resuming)) return;
  const whose = commit.stateId === undefined ? 'an earlier state directory' : `${owner.stateId === null ? 'a' : 'another'} state directory (id ${commit.stateId})`;
  throw new KeyflowError(codes.STATE_DIR, `${commitPath(path)} records results of ${whose}, not of this one: `
    + `new results numbered like old ones would be dropped as duplicates. To start over, remove ${path} and ${commitPath(path)} `
    + `(or write to another output); to resume, use the state directory that wrote them`, { path, stateId: commit.stateId });
}

function readCommit(path: string): CommitRecord | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const nl = text.indexOf('\n');
  const body = text.slice(nl + 1);
  if (nl < 0 || Number(text.slice(0, nl)) !== crc32c(Buffer.from(body))) {
    throw new KeyflowError(codes.CORRUPT, `${path} is corrupt (CRC mismatch)`, { path, offset: 0 });
  }
  return JSON.parse(body);
}
