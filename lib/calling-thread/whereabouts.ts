/**
 * Words for what an actor was doing when it failed (crashed, ran out of memory, or spent too long in one
 * call), from its activity slot (see activity.ts): the pipeline, the key-group and where in the input.
 * The main thread builds them; the actor's thread may be dead or stuck by then.
 */
import type { ActivityReport } from '../shared/activity.js';
import { Kind } from '../shared/codec/records.js';
import { where, type Location } from '../shared/dead-letter.js';

export interface WhereaboutsContext {
  pipelineNames: readonly string[];
  locate(src: number, pos: number): Location;
}

/** E.g. "actor 1 was applying the event at events.ndjson:123 to pipeline 'counts' (key-group 17)". */
export function whereabouts(actor: number, a: ActivityReport, ctx: WhereaboutsContext): string {
  const name = a.pipe >= 0 && a.pipe < ctx.pipelineNames.length ? `pipeline '${ctx.pipelineNames[a.pipe]}'` : null;
  const pipeline = name === null ? '' : ` of ${name}`;
  const group = a.kg >= 0 ? `, key-group ${a.kg}` : '';
  const lastEvent = a.src >= 0 ? `the event at ${where(ctx.locate(a.src, a.pos))}` : null;
  if (!a.busy) return `actor ${actor}, between frames (the last event it applied: ${lastEvent ?? 'none'})`;
  switch (a.kind) {
    case Kind.EVENT:
      return `actor ${actor} was applying ${lastEvent}${name === null ? '' : ` to ${name}`}${group}`;
    case Kind.WATERMARK:
      return `actor ${actor} was firing timers${pipeline} at watermark ${a.time}${group} (the last event it applied: ${lastEvent ?? 'none'})`;
    case Kind.PROCESSING_TIME:
      return `actor ${actor} was firing processing-time timers${pipeline} at ${new Date(a.time).toISOString()}${group} (the last event it applied: ${lastEvent ?? 'none'})`;
    case Kind.END:
      return `actor ${actor} was firing what the end of input closes${pipeline}${group} (the last event it applied: ${lastEvent ?? 'none'})`;
    default:
      return `actor ${actor} (the last event it applied: ${lastEvent ?? 'none'})`;
  }
}
