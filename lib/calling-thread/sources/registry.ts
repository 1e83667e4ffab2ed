import type { Location } from '../../shared/dead-letter.js';
import { STAGE_SOURCE, TIMER_SOURCE } from '../../shared/codec/records.js';

/**
 * Names the sources events come from, so records carry a small id and errors can say where an event
 * came from: a line of a named file, or the n-th event of `ingest()`.
 */
export class SourceRegistry {
  private readonly names: string[] = [];
  private readonly ordinals: number[] = [];
  private readonly kinds: Array<Location['kind']> = [];
  /** Exactly-once sources: highest position routed, for checkpoints. */
  readonly positions = new Map<string, number>();
  /** Sources from a broker: messages its stream holds past the last one read (for the metrics). */
  readonly lag = new Map<string, number>();

  /** The id of a source; `isNew` when this call registered it (announce it to the actors then). */
  id(name: string, kind: Location['kind']): { id: number; isNew: boolean } {
    let id = this.names.indexOf(name);
    if (id >= 0) return { id, isNew: false };
    id = this.names.push(name) - 1;
    if (id >= STAGE_SOURCE) throw new RangeError(`too many distinct sources (${id})`);
    this.ordinals.push(0);
    this.kinds.push(kind);
    return { id, isNew: true };
  }

  name(id: number): string {
    return this.names[id];
  }

  /** The next `count` ordinals of a source that does not give line numbers. */
  take(id: number, count: number): number {
    const first = this.ordinals[id];
    this.ordinals[id] = first + count;
    return first;
  }

  locate(id: number, position: number): Location {
    if (id === TIMER_SOURCE) return { source: 'timer', position, kind: 'timer' };
    if (id === STAGE_SOURCE) return { source: "the earlier stage's results", position, kind: 'stage' };
    return { source: this.names[id] ?? `source #${id}`, position, kind: this.kinds[id] ?? 'ordinal' };
  }
}
