/**
 * key → key-group → actor, as Flink's KeyGroupRangeAssignment: a key hashes to one of `maxKeyGroups`
 * groups, and each actor owns a contiguous range of groups. Groups, not keys, move between actors when
 * the worker count changes, so per-group state can be reassigned on rescaling.
 *
 * The hash must be stable across processes, Node versions and platforms (state on disk depends on it),
 * so it is MurmurHash3 (x86, 32-bit) over the key's canonical form, never anything engine-internal.
 */
export const DEFAULT_MAX_KEY_GROUPS = 128;
export const MAX_KEY_GROUPS_LIMIT = 32768;

/** A key as state maps hold it: primitives as themselves, anything else as canonical JSON. */
export type StateKey = string | number | boolean | bigint;

export function stateKeyOf(key: unknown): StateKey {
  switch (typeof key) {
    case 'string': case 'number': case 'boolean': case 'bigint': return key;
    default: return JSON.stringify(key);
  }
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixK(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3_x86_32 over a string's UTF-16 code units, two units per 32-bit block. */
export function hashString(s: string, seed = 0): number {
  let h = seed | 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mixH(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  if (i < n) h ^= mixK(s.charCodeAt(i));
  h ^= n * 2;
  return fmix(h);
}

/**
 * Small integers hash as one 32-bit block; every other key hashes its canonical string form. -0 hashes
 * as 0 (the router makes it 0; state maps hold them as one key).
 */
export function hashKey(key: StateKey): number {
  if (typeof key === 'number' && (key | 0) === key) {
    return fmix(mixH(0x9747b28c, key) ^ 4);
  }
  return hashString(typeof key === 'string' ? key : `${typeof key}:${String(key)}`);
}

export function keyGroupOf(key: StateKey, maxKeyGroups: number): number {
  return hashKey(key) % maxKeyGroups;
}

/** The actor that owns `keyGroup` when `workers` actors share `maxKeyGroups` groups. */
export function actorOf(keyGroup: number, workers: number, maxKeyGroups: number): number {
  return Math.floor((keyGroup * workers) / maxKeyGroups);
}

/** The contiguous range [start, end] of key-groups owned by `actor`. */
export function keyGroupRange(actor: number, workers: number, maxKeyGroups: number): { start: number; end: number } {
  return {
    start: Math.ceil((actor * maxKeyGroups) / workers),
    end: Math.ceil(((actor + 1) * maxKeyGroups) / workers) - 1,
  };
}

/**
 * The partition of `partitions` that a key's events belong in, for producers that publish to a broker by
 * partition (`<prefix>.<partition>`): key → key-group → partition as key-groups go to actors, so each
 * partition holds whole key-groups, a contiguous range of them.
 */
export function partitionOf(key: unknown, partitions: number, maxKeyGroups = DEFAULT_MAX_KEY_GROUPS): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > maxKeyGroups) {
    throw new RangeError(`partitions must be an integer from 1 to maxKeyGroups (${maxKeyGroups}), not ${String(partitions)}`);
  }
  return actorOf(keyGroupOf(stateKeyOf(key), maxKeyGroups), partitions, maxKeyGroups);
}
