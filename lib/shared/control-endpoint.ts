/**
 * The MessagePort of an actor's thread as a comlink endpoint, for both ends of the control plane.
 * comlink's Node adapter is a CommonJS module that exports the function itself, while its types describe
 * an ES default export: the cast says what Node actually loads.
 */
import adapter from 'comlink/dist/umd/node-adapter.js';

export const nodeEndpoint = adapter as unknown as typeof adapter.default;
