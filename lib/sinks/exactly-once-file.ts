import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { KeyflowError, codes } from '../errors.js';
import { crc32c } from '../durability/crc32c.js';
import { writeFileAtomic } from '../durability/files.js';

/**
 * An NDJSON file that holds every result exactly once across crashes and restarts.
 *
 * Results are numbered per key-group by the actors, deterministically, so replaying input after a crash
 * reproduces the same numbers. The sink remembers, per key-group, the highest number written and
 * skips anything at or below it. `commit()` makes the file durable and records its length and those
 * numbers in `<file>.commit` (atomically); on open, whatever lies past the committed length (written but
 * not committed when the process died, or results of the end of input) is cut off, and is written again
 * by the replay.
 */
export class ExactlyOnceFileSink {
  private readonly fd: number;
  private readonly high: Float64Array;
  private committed = 0;
  private length: number;
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(readonly path: string, maxKeyGroups: number) {
    this.high = new Float64Array(maxKeyGroups);
    const commit = readCommit(`${path}.commit`);
    this.fd = openSync(path, 'a+');
    this.length = commit?.length ?? 0;
    if (commit) commit.high.forEach(([kg, n]) => (this.high[kg] = n));
    ftruncateSync(this.fd, this.length);
    this.committed = this.length;
  }

  write(kg: number, n: number, value: unknown): void {
    if (n <= this.high[kg]) return;
    this.high[kg] = n;
    const line = JSON.stringify(value) + '\n';
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= 1 << 16) this.flush();
  }

  /** Make everything written so far durable, then record it as committed. */
  commit(): void {
    this.flush();
    if (this.length === this.committed) return;
    fsyncSync(this.fd);
    const high: Array<[number, number]> = [];
    this.high.forEach((n, kg) => { if (n > 0) high.push([kg, n]); });
    const body = JSON.stringify({ length: this.length, high });
    writeFileAtomic(`${this.path}.commit`, Buffer.from(`${crc32c(Buffer.from(body))}\n${body}`));
    this.committed = this.length;
  }

  /**
   * Write out what is pending and close, without committing it: what came after the last checkpoint (at
   * stop(), the windows fired at the end of input) is provisional. A later run on the same state resumes
   * from that checkpoint, cuts these results off and fires those windows again, updated by new input.
   */
  close(): void {
    this.flush();
    if (this.length !== this.committed) fsyncSync(this.fd);
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const data = Buffer.from(this.pending.join(''));
    for (let at = 0; at < data.length;) at += writeSync(this.fd, data, at, data.length - at, null);
    this.length += data.length;
    this.pending = [];
    this.pendingBytes = 0;
  }
}

function readCommit(path: string): { length: number; high: Array<[number, number]> } | null {
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
