/**
 * What the CLI adds to ERR_KEYFLOW_CORRUPT_STATE: what can be done about it. A corrupt snapshot of the
 * latest checkpoint can be passed over with --repair (the checkpoint before it, and the WAL after that,
 * are kept for this); other corruption (a WAL record, the manifest) leaves only starting over.
 */
import { KeyflowError, codes } from '../shared/errors.js';
import { isSnapshotPath } from '../shared/durability/state-layout.js';

export function corruptStateHint(err: unknown): string {
  if (!(err instanceof KeyflowError) || err.code !== codes.CORRUPT) return '';
  const path = (err.details as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' && isSnapshotPath(path)
    ? ' — run again with --repair to resume from the checkpoint before it'
    : ' — --repair only passes over a corrupt snapshot of the latest checkpoint; to start over, move the state directory (and the output\'s .commit file) aside';
}
