import cliProgress from 'cli-progress';
import { grouped } from './grouped.js';

/** A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, files). */
export class Progress {
  private readonly bar: cliProgress.SingleBar | null;

  constructor(total: number, unit: string) {
    this.bar = process.stderr.isTTY && total > 0
      ? new cliProgress.SingleBar({
          stream: process.stderr,
          format: ` {bar} {percentage}% | {value}/{total} ${unit} | {rate} events/s | ETA {eta_formatted}`,
          hideCursor: true,
        }, cliProgress.Presets.shades_classic)
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
