import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import { grouped } from './grouped.js';

/** cli-progress, loaded only for a terminal (a pipe or a file never shows a bar). */
const load = () => createRequire(import.meta.url)('cli-progress') as typeof cliProgress;

/** A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, files). */
export class Progress {
  private readonly bar: cliProgress.SingleBar | null;

  constructor(total: number, unit: string) {
    const bars = process.stderr.isTTY && total > 0 ? load() : null;
    this.bar = bars
      ? new bars.SingleBar({
          stream: process.stderr,
          format: ` {bar} {percentage}% | {value}/{total} ${unit} | {rate} events/s | ETA {eta_formatted}`,
          hideCursor: true,
        }, bars.Presets.shades_classic)
      : null;
    this.bar?.start(total, 0, { rate: 0 });
  }

  update(value: number, rate: number): void {
    this.bar?.update(value, { rate: grouped(rate) });
  }

  stop(): void {
    this.bar?.stop();
  }
}
