/**
 * The largest event time accepted, either way from the epoch: a Date's range (±100,000,000 days). Past it,
 * times lose millisecond precision (2^53 is 9.007e15) and windows and watermarks stop being exact.
 */
export const MAX_EVENT_TIME = 8.64e15;

/** An event time must be a number of milliseconds within ±MAX_EVENT_TIME (a Date is taken as its getTime()). */
export function toEventTime(value: unknown): number | null {
  const t = typeof value === 'number' ? value : value instanceof Date ? value.getTime() : NaN;
  return t >= -MAX_EVENT_TIME && t <= MAX_EVENT_TIME ? t : null;
}
