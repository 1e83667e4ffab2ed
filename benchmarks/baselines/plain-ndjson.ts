/**
 * The CLI path's baseline: what one would write instead of `keyflow run` for bids per auction. readline over
 * the NDJSON file, JSON.parse per line, tumbling 10 s event-time windows per auction with count, sum and max
 * in one Map, late bids dropped (watermark = highest event time so far - 2 s - 1, as keyflow's), and every
 * window written as NDJSON at the end.  Usage: node plain-ndjson.js <events.ndjson> <results.ndjson>
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [input, output] = process.argv.slice(2);
const SIZE = 10_000;
const windows = new Map<string, { key: number; windowStart: number; windowEnd: number; bids: number; volume: number; top: number }>();
let maxTime = -Infinity;
for await (const line of createInterface({ input: createReadStream(input), crlfDelay: Infinity })) {
  const e = JSON.parse(line);
  if (e.kind !== 'bid') continue;
  const { auction, price, dateTime } = e.bid;
  const watermark = maxTime - 2_000 - 1;
  if (dateTime > maxTime) maxTime = dateTime;
  const start = dateTime - (dateTime % SIZE);
  if (start + SIZE - 1 <= watermark) continue;
  const id = `${auction}|${start}`;
  const w = windows.get(id);
  if (w === undefined) windows.set(id, { key: auction, windowStart: start, windowEnd: start + SIZE, bids: 1, volume: price, top: price });
  else {
    w.bids++;
    w.volume += price;
    if (price > w.top) w.top = price;
  }
}
writeFileSync(output, [...windows.values()].map((w) => JSON.stringify(w) + '\n').join(''));
