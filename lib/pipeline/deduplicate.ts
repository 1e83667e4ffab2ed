import { configError } from '../shared/errors.js';
import type { ProcessContext, ProcessFunction } from './process-function.js';

export interface DeduplicateOptions {
  /**
   * 'first' (default): a key's first event to arrive is emitted at once and the duplicates after it are dropped;
   * 'last': the latest of them (by event time, a tie going to the later arrival) is emitted when the span ends.
   */
  keep?: 'first' | 'last';
  /**
   * How long a span lasts from a key's first event: until the watermark reaches that event's time + withinMs
   * (in pipelines without eventTime(), until the actor's clock reaches its arrival + withinMs); the next event
   * of the key starts a new span. Without it (keep 'first' only) a span never ends: one event per key, ever,
   * and state that grows with the keys.
   */
  withinMs?: number;
}

/** A key's open span: when it ends (NaN: never), and for keep 'last' the latest event so far and its time. */
interface Span {
  end: number;
  time?: number;
  event?: unknown;
}

const STATE = 'deduplicate';

/**
 * Deduplication per key: a process function for `.keyBy(…).process(deduplicate({ … }))`, whose results are
 * the events kept. keep 'first' keeps the first event to arrive and emits it at once (an append-only
 * stream, as Flink SQL's deduplication on arrival order; keeping the earliest by event time instead would
 * have to retract what was emitted when an earlier one arrived); keep 'last' keeps the latest by event time
 * and emits it when the span ends. Spans end by the watermark in band, so what is a duplicate is the same
 * with any worker count and after recovery.
 */
export function deduplicate<E>(options: DeduplicateOptions = {}): ProcessFunction<E, E> {
  const { keep = 'first', withinMs } = options;
  if (keep !== 'first' && keep !== 'last') throw configError(`deduplicate() keep must be 'first' or 'last', got ${String(keep)}`);
  if (withinMs !== undefined && !(Number.isFinite(withinMs) && withinMs > 0)) {
    throw configError(`deduplicate() withinMs must be a number > 0, got ${String(withinMs)}`);
  }
  if (keep === 'last' && withinMs === undefined) throw configError("deduplicate() with keep: 'last' needs withinMs: when the span ends, its last event is emitted");
  /** End the span: emit what it kept and drop it. */
  const close = (ctx: ProcessContext<E>, span: Span) => {
    if (keep === 'last') ctx.emit(span.event as E);
    ctx.value<Span>(STATE).clear();
  };
  return {
    onEvent(event, ctx) {
      const state = ctx.value<Span>(STATE);
      const eventTime = !Number.isNaN(ctx.timestamp);
      let span = state.get();
      // A timer at or before the watermark fires only when the watermark next moves: a span may be over before its timer fires.
      if (span !== undefined && span.end <= (eventTime ? ctx.watermark : ctx.currentProcessingTime)) {
        if (eventTime) ctx.timers.deleteEventTime(span.end);
        else ctx.timers.deleteProcessingTime(span.end);
        close(ctx, span);
        span = undefined;
      }
      if (span === undefined) {
        let end = NaN;
        if (withinMs !== undefined) {
          end = (eventTime ? ctx.timestamp : ctx.currentProcessingTime) + withinMs;
          if (eventTime) ctx.timers.registerEventTime(end);
          else ctx.timers.registerProcessingTime(end);
        }
        if (keep === 'first') ctx.emit(event);
        state.set(keep === 'first' ? { end } : { end, time: ctx.timestamp, event });
      } else if (keep === 'last' && !(eventTime && ctx.timestamp < span.time!)) {
        state.set({ end: span.end, time: ctx.timestamp, event });
      }
    },
    onTimer(time, ctx) {
      const span = ctx.value<Span>(STATE).get();
      if (span !== undefined && span.end === time) close(ctx, span);
    },
  };
}
