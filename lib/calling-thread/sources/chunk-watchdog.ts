/**
 * The maxCallMs watchdog of a parallel source: fails the run when the pool thread routing the chunk
 * being waited for has spent maxCallMs on one event of one pipeline (a filter, map, keyBy or eventTime
 * that never returns). The engine then ends the pool, which interrupts even a busy loop.
 */
import type { Failure } from '../failure.js';
import { where } from '../../shared/dead-letter.js';
import { KeyflowError, codes } from '../../shared/errors.js';
import type { RoutingActivity } from '../../shared/routing-activity.js';

export function watchChunks({ failure, pipelineNames, maxCallMs }: { failure: Failure; pipelineNames: readonly string[]; maxCallMs: number }, source: string, head: () => { activity: RoutingActivity; lineOffset: number } | null): NodeJS.Timeout {
  let seen = '';
  let since = performance.now();
  return setInterval(() => {
    const now = performance.now();
    const h = head();
    const report = h?.activity.read();
    const at = report?.busy && report.location ? `${report.pipe}:${report.location.position}` : '';
    if (at === '' || at !== seen) {
      seen = at;
      since = now;
    } else if (now - since >= maxCallMs) {
      const line = h!.lineOffset + report!.location!.position;
      failure.fail(new KeyflowError(codes.CALL_TIMEOUT, `a call ran for more than maxCallMs (${maxCallMs} ms) without progress in a source thread: pipeline `
        + `'${pipelineNames[report!.pipe]}' at ${where({ source, position: line, kind: 'line' })}, in its filter(), map(), keyBy() or eventTime(). A function `
        + 'that never returns? The source threads were stopped. If such a call is legitimately slow, raise maxCallMs (--max-call-ms), or set it to 0 for no limit'));
    }
  }, Math.min(1000, Math.max(5, maxCallMs / 4))).unref();
}
