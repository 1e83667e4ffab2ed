/**
 * Why a rejection is ignored, said by name: `promise.catch(reportedElsewhere)` instead of a bare
 * `.catch(() => {})`. Each helper does nothing with the error; its name and comment are the reason, and
 * the lint refuses an empty `.catch()` handler so every ignored error keeps one.
 */

/** The error reaches the user another way: it has failed the engine (stop() reports it), or the same promise went to the caller. */
export function reportedElsewhere(): void {}

/** The promise is kept and awaited or raced later, where its error is handled; until then it must not count as unhandled. */
export function handledWhereAwaited(): void {}

/** Cleaning up after a failure that is already being reported: a further error only repeats it or follows from it. */
export function afterFailure(): void {}

/** Closing something we stopped using on purpose (an input no longer read after a stop): how it ends tells nothing. */
export function abandoned(): void {}
