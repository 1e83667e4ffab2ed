/**
 * Which of keyflow's own threads this is, if any: an actor, or a source thread. Both import the user's
 * pipeline module, so a module that calls start() at its top level would start an engine in each of them;
 * start() reads this mark and refuses at once (without loading the engine there).
 */
export type EngineThread = 'actor' | 'source';

const MARK = Symbol.for('keyflow.engineThread');

/** Mark this thread, before it imports any pipeline module. */
export function markEngineThread(kind: EngineThread): void {
  (globalThis as Record<symbol, unknown>)[MARK] = kind;
}

export function engineThread(): EngineThread | undefined {
  return (globalThis as Record<symbol, EngineThread | undefined>)[MARK];
}
