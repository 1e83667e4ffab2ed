/**
 * A crash state as recovery reads it. Recovery is a deterministic function of what it reads, so states
 * with the same view recover alike, and one real recovery per view checks them all:
 * - a WAL segment is what the engine's own reader (parseSegment) takes from it, as the last segment and
 *   as an earlier one: the same records, a torn tail or not, the same refusal; bytes past the intact
 *   records differ only in how much is cut off;
 * - an exactly-once output is its bytes up to the length its commit record holds, and whether it has that
 *   many (the rest is cut off on open); without a record, nothing of it counts (it is cut to nothing);
 * - a temporary file (a write not yet renamed into place, a lock being claimed, the write probe) is never
 *   read (each is opened to be written from its start), and a lock left by a process that died is taken
 *   over whatever it reads: neither counts;
 * - recovery restores the manifest's latest checkpoint and replays WAL segments from it on: other
 *   checkpoints' snapshots and earlier segments are never read, and count only through their numbers (the
 *   next checkpoint is numbered above every one on disk); deleting them when a later checkpoint completes
 *   is the same whether they are there or not;
 * - everything else (manifest, the chosen snapshots, the directory's id, a commit record, every other
 *   directory) is compared byte for byte.
 */
import { createHash } from 'node:crypto';
import { parseSegment } from '../../../lib/shared/durability/wal.js';
import { contentHash, type Tree } from './crash-states.js';

const SEGMENT = /^state\/wal\/[^/]+\/(\d{8})\.wal$/;
const SNAPSHOTS = /^state\/snapshots\/(\d+)(\/|$)/;
const IGNORED = /(\.tmp|\.stale|\/\.keyflow-write-probe|\/LOCK|\.lock)$/;
const OUTPUT = 'results.ndjson';

const segmentViews = new WeakMap<Buffer, string>();

function segmentView(data: Buffer): string {
  let view = segmentViews.get(data);
  if (view === undefined) {
    view = [true, false].map((isLast) => {
      try {
        const { frames, tornBytes } = parseSegment(data, 'segment', isLast);
        return `${contentHash(Buffer.concat(frames))}/${frames.length}/${tornBytes > 0}`;
      } catch (err) {
        return `refused: ${(err as Error).message}`;
      }
    }).join(' ');
    segmentViews.set(data, view);
  }
  return view;
}

/** The committed length of the output, from its commit record (0 without one; null if it is unreadable). */
function committedLength(tree: Tree): number | null {
  const record = tree.get(`${OUTPUT}.commit`);
  if (!record) return 0;
  const text = record.toString('utf8');
  try {
    return (JSON.parse(text.slice(text.indexOf('\n') + 1)) as { length: number }).length;
  } catch {
    return null;
  }
}

/** The checkpoint recovery restores: the manifest's latest (null without a readable manifest). */
function chosenCheckpoint(tree: Tree): number | null {
  const manifest = tree.get('state/MANIFEST.json');
  if (!manifest) return null;
  const text = manifest.toString('utf8');
  try {
    return (JSON.parse(text.slice(text.indexOf('\n') + 1)) as { checkpoints: Array<{ id: number }> }).checkpoints.at(-1)?.id ?? null;
  } catch {
    return null;
  }
}

export function recoveryView(tree: Tree): string {
  const h = createHash('sha1');
  const committed = committedLength(tree);
  const chosen = chosenCheckpoint(tree);
  let highest = 0;
  for (const [path, data] of tree) {
    const unread = chosen === null ? null : (SNAPSHOTS.exec(path) ?? SEGMENT.exec(path));
    if (unread && Number(unread[1]) !== chosen && (SNAPSHOTS.test(path) || Number(unread[1]) < chosen!)) {
      highest = Math.max(highest, Number(unread[1]));
      continue;
    }
    if (IGNORED.test(`/${path}`) || (path === OUTPUT && committed === 0)) continue;
    let view: string;
    if (data === null) view = 'dir';
    else if (SEGMENT.test(path)) view = segmentView(data);
    else if (path === OUTPUT && committed !== null) view = `${contentHash(data.subarray(0, committed))} ${data.length >= committed}`;
    else view = contentHash(data);
    h.update(`${path}\0${view}\0`);
  }
  h.update(`numbered above ${highest}`);
  return h.digest('hex');
}
