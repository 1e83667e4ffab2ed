/**
 * What ends a `keyflow run` before its input does: SIGINT or SIGTERM, or the reader of stdout going away
 * (EPIPE, e.g. `keyflow run … --output - | head -n 1`). The first of them stops the input: the run then
 * ends as it does at end of input (the engine drains, fires the final windows, takes its final
 * checkpoint with --state, the outputs are written) and exits with the conventional code of a process
 * ended by that signal: 130 for SIGINT, 143 for SIGTERM, 141 for a broken pipe (SIGPIPE). A second
 * signal exits at once, with the same code.
 */

/** 'STDOUT': stdout failed otherwise than by a broken pipe (reported, exit code 1). */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'EPIPE' | 'STDOUT';

const EXIT_CODES: Record<StopReason, number> = { SIGINT: 130, SIGTERM: 143, EPIPE: 141, STDOUT: 1 };
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export class RunStop {
  reason: StopReason | null = null;
  private readonly controller = new AbortController();

  /** `watchStdout`: the run writes its results to stdout, so a reader closing it ends the run. */
  constructor(private readonly watchStdout: boolean) {
    for (const s of SIGNALS) process.on(s, this.onSignal);
    if (watchStdout) process.stdout.on('error', this.onStdoutError);
  }

  /** The exit code the run ends with when it was stopped (null: it ran to the end of its input). */
  get exitCode(): number | null {
    return this.reason === null ? null : EXIT_CODES[this.reason];
  }

  /** Aborts at the stop: the run reads no more input. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stop listening (the run is over). */
  dispose(): void {
    for (const s of SIGNALS) process.off(s, this.onSignal);
    if (this.watchStdout) process.stdout.off('error', this.onStdoutError);
  }

  private stop(reason: StopReason): void {
    this.reason = reason;
    this.controller.abort();
  }

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.reason === 'SIGINT' || this.reason === 'SIGTERM') process.exit(EXIT_CODES[signal as StopReason]);
    process.stderr.write(`keyflow: ${signal}: reading no more input; finishing what was read (${signal} again to exit at once)\n`);
    this.stop(signal as StopReason);
  };

  /** A broken pipe ends the run quietly (its reader wanted no more); any other stdout failure is reported. */
  private readonly onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (this.reason !== null) return;
    if (err.code !== 'EPIPE') process.stderr.write(`keyflow: cannot write to stdout: ${err.message}; stopping\n`);
    this.stop(err.code === 'EPIPE' ? 'EPIPE' : 'STDOUT');
  };
}
