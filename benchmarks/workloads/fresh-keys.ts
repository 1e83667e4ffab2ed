/** An endless stream of new keys, each remembered by a process function: with a TTL, and without. */
import { pipeline } from '../../lib/index.js';

export const TTL_MS = 10_000;

interface Visit { user: string; t: number }

const remember = (ttl: boolean) => pipeline<Visit>(ttl ? 'with-ttl' : 'no-ttl')
  .keyBy((e) => e.user)
  .eventTime((e) => e.t)
  .process({
    onEvent(e, ctx) {
      ctx.value<number>('firstSeen', ttl ? { ttl: { ttlMs: TTL_MS } } : undefined).set(e.t);
    },
  });

export const withTtl = remember(true);
export const noTtl = remember(false);
