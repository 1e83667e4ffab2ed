import { NexmarkGenerator, type GeneratorOptions } from '../nexmark/generator.js';

/**
 * `keyflow generate`: Nexmark events as NDJSON on stdout, deterministic for a seed. A reader that closes
 * the pipe early (`| head`) ends it quietly with 141, the code of a process ended by SIGPIPE.
 */
export async function generate(events: number, options: GeneratorOptions): Promise<number> {
  const generator = new NexmarkGenerator(options);
  const out = process.stdout;
  let failure: NodeJS.ErrnoException | null = null;
  const failed = new Promise<void>((resolve) => out.once('error', (err: NodeJS.ErrnoException) => { failure = err; resolve(); }));
  for (let done = 0; done < events && failure === null;) {
    const n = Math.min(10_000, events - done);
    const text = generator.batch(n).map((e) => JSON.stringify(e)).join('\n') + '\n';
    done += n;
    if (!out.write(text)) await Promise.race([new Promise((r) => out.once('drain', r)), failed]);
  }
  if (failure === null) return 0;
  const { code, message } = failure as NodeJS.ErrnoException;
  if (code === 'EPIPE') return 141;
  process.stderr.write(`keyflow: cannot write to stdout: ${message}\n`);
  return 1;
}
