/**
 * Record kinds that travel in band, in order, inside frames.
 * Input rings (router → actor) carry EVENT, WATERMARK and END; output rings (actor → main thread)
 * carry RESULT, LATE, ERROR and END.
 */
export const EVENT = 1;
export const WATERMARK = 2;
export const END = 3;
export const RESULT = 4;
export const LATE = 5;
export const ERROR = 6;

export type RecordKind = typeof EVENT | typeof WATERMARK | typeof END | typeof RESULT | typeof LATE | typeof ERROR;
