import { NexmarkGenerator, type GeneratorOptions } from '../nexmark/generator.js';

/** `keyflow generate`: Nexmark events as NDJSON on stdout, deterministic for a seed. */
export async function generate(events: number, options: GeneratorOptions): Promise<number> {
  const generator = new NexmarkGenerator(options);
  const out = process.stdout;
  for (let done = 0; done < events;) {
    const n = Math.min(10_000, events - done);
    const text = generator.batch(n).map((e) => JSON.stringify(e)).join('\n') + '\n';
    done += n;
    if (!out.write(text)) await new Promise((r) => out.once('drain', r));
  }
  return 0;
}
