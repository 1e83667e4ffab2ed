import type { Location } from '../dead-letter.js';
import { TIMER_SOURCE } from '../operators/operator.js';

/**
 * Names the sources events come from, so records carry a small id and errors can say where an event
 * came from: a line of a named file, or the n-th event of `ingest()`.
 */
export class SourceRegistry {
  private readonly names: string[] = [];
  private readonly ordinals: number[] = [];
  private readonly lineBased: boolean[] = [];

  id(name: string, lineBased: boolean): number {
    let id = this.names.indexOf(name);
    if (id < 0) {
      id = this.names.push(name) - 1;
      if (id >= TIMER_SOURCE) throw new RangeError(`too many distinct sources (${id})`);
      this.ordinals.push(0);
      this.lineBased.push(lineBased);
    }
    return id;
  }

  /** The next `count` ordinals of a source that does not give line numbers. */
  take(id: number, count: number): number {
    const first = this.ordinals[id];
    this.ordinals[id] = first + count;
    return first;
  }

  locate(id: number, position: number): Location {
    if (id === TIMER_SOURCE) return { source: 'timer', position, kind: 'timer' };
    return { source: this.names[id] ?? `source #${id}`, position, kind: this.lineBased[id] ? 'line' : 'ordinal' };
  }
}
