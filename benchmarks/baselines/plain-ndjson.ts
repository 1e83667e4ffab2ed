/**
 * The CLI path's baseline: what one would write instead of `keyflow run` for bids per auction. readline over
 * the NDJSON file, JSON.parse per line, tumbling 10 s event-time windows per auction with count, sum and max
 * in one Map, late bids dropped (watermark = highest event time so far - 2 s - 1, as keyflow's), and every
 * window written as NDJSON at the end.  Usage: node plain-ndjson.js <events.ndjson> <results.ndjson>
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BidWindows } from './bid-windows.js';

const [input, output] = process.argv.slice(2);
const windows = new BidWindows();
for await (const line of createInterface({ input: createReadStream(input), crlfDelay: Infinity })) {
  const e = JSON.parse(line);
  if (e.kind !== 'bid') continue;
  windows.add(e.bid.auction, e.bid.price, e.bid.dateTime);
}
writeFileSync(output, [...windows.windows.values()].map((w) => JSON.stringify(w) + '\n').join(''));
