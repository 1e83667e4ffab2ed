/**
 * The source threads' task module, as piscina loads it. piscina require()s a task module before it
 * import()s it, and Node's require() of an ES module (on by default since 20.19) aborted the whole process
 * under load when it met route-chunk.js, whose top-level await makes require() refuse it and piscina import
 * it instead (a V8 fatal error inside require(): "IsGraphAsync must be used on an instantiated module",
 * 1 in 96 runs of a test whose source threads fail to load a pipeline). This CommonJS module is what
 * require() loads; it imports route-chunk.js and is the promise of its handler, which piscina
 * awaits (a thread that cannot load it fails as it starts, as before).
 */
export = import('./route-chunk.js').then((m) => m.default);
