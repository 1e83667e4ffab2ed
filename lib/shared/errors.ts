/**
 * Every error keyflow raises, with a stable code. Configuration errors are thrown by start(); bad input
 * and throwing user functions become DeadLetter records on the errors output (see dead-letter.ts).
 */
export const codes = {
  CONFIG: 'ERR_KEYFLOW_CONFIG',
  UNKNOWN_PIPELINE: 'ERR_KEYFLOW_UNKNOWN_PIPELINE',
  PIPELINE_MODULE: 'ERR_KEYFLOW_PIPELINE_MODULE',
  USER_FUNCTION: 'ERR_KEYFLOW_USER_FUNCTION',
  MISSING_KEY: 'ERR_KEYFLOW_MISSING_KEY',
  BAD_KEY: 'ERR_KEYFLOW_BAD_KEY',
  BAD_TIME: 'ERR_KEYFLOW_BAD_TIME',
  BAD_VALUE: 'ERR_KEYFLOW_BAD_VALUE',
  BAD_JSON: 'ERR_KEYFLOW_BAD_JSON',
  BAD_ENCODING: 'ERR_KEYFLOW_BAD_ENCODING',
  TOO_LARGE: 'ERR_KEYFLOW_EVENT_TOO_LARGE',
  STOPPED: 'ERR_KEYFLOW_STOPPED',
  FAILED: 'ERR_KEYFLOW_FAILED',
  WORKER: 'ERR_KEYFLOW_WORKER',
  CALL_TIMEOUT: 'ERR_KEYFLOW_CALL_TIMEOUT',
  CORRUPT: 'ERR_KEYFLOW_CORRUPT_STATE',
  STATE_DIR: 'ERR_KEYFLOW_STATE_DIR',
  /** An output file cannot be opened or written (a directory, no such directory, disk full…). */
  OUTPUT: 'ERR_KEYFLOW_OUTPUT',
  /** An input cannot be read (a broker's stream that does not exist…). */
  INPUT: 'ERR_KEYFLOW_INPUT',
} as const;

export type ErrorCode = (typeof codes)[keyof typeof codes];

export class KeyflowError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'KeyflowError';
    this.code = code;
    this.details = details;
  }
}

export function configError(message: string): KeyflowError {
  return new KeyflowError(codes.CONFIG, message);
}

export function describeThrown(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `non-Error thrown: ${String(err)}`;
}
