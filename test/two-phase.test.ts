import t from 'tap';
import { NexmarkGenerator } from '../lib/nexmark/generator.js';
import type { NexmarkEvent } from '../lib/nexmark/model.js';
import { count, first, pipeline, session, tumbling, topN } from '../lib/index.js';
import { fixture, runEngine, sorted } from './helpers/collect.js';
import { batchesOf } from './helpers/compare.js';
import { crashAndRerun } from './helpers/script.js';

// Two-phase aggregation (aggregate(spec, { preAggregateBy })): a global key's bids, pre-aggregated per
// bucket on the actors that own the buckets, then merged per window. The results are those of one phase
// (a sum of fractions up to rounding: it adds in another order), and identical on any worker count (the
// merges go in an order that depends on the data alone).

const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 31, outOfOrderMs: 300 }).batch(20_000);
// A bid of price 0 has no key: a dead letter in both forms.
for (const e of events) if (e.kind === 'bid' && e.bid.bidder % 97 === 0) e.bid.price = 0;
type Window = { windowStart: number; mean: number };
/** Results with `mean` (a sum of fractions) rounded to 9 significant digits. */
const rounded = (rs: unknown[] | undefined) => sorted((rs as Window[] | undefined ?? []).map((r) => ({ ...r, mean: Number(r.mean.toPrecision(9)) })));

t.test('two phases give the results of one, on 1, 2 and 4 workers; late events and dead letters as in one', async (t) => {
  const outputs: string[] = [];
  for (const workers of [1, 2, 4]) {
    const run = await runEngine({ module: fixture('two-phase'), workers }, batchesOf(events, 1_000));
    for (const w of ['tumbling', 'sliding']) {
      const one = rounded(run.results[`${w}-one`]);
      t.ok(one.length > 20 && rounded(run.results[`${w}-two`]).join('\n') === one.join('\n'), `${workers} workers, ${w}: two phases as one (${one.length} windows)`);
      t.ok(sorted(run.late[`${w}-two/1`]).join('\n') === sorted(run.late[`${w}-one`]).join('\n'), `${workers} workers, ${w}: the same late events (${run.late[`${w}-one`]?.length ?? 0})`);
      const missing = (name: string) => run.errors.filter((e) => e.pipeline === name && e.code === 'ERR_KEYFLOW_MISSING_KEY').length;
      t.ok(missing(`${w}-one`) > 0 && missing(`${w}-two/1`) === missing(`${w}-one`), `${workers} workers, ${w}: the same missing keys as dead letters`);
    }
    outputs.push(['tumbling-two', 'sliding-two'].map((n) => sorted(run.results[n]).join('\n')).join('\n'));
  }
  t.ok(outputs.every((o) => o === outputs[0]), 'identical for 1, 2 and 4 workers, to the last bit');
});

t.test('across a SIGKILL and a restart with another worker count: every result once', async (t) => {
  const once = await runEngine({ module: fixture('two-phase'), workers: 2, pipelines: ['tumbling-two'] }, batchesOf(events, 1_000));
  const { results } = await crashAndRerun(t, fixture('two-phase'), ['tumbling-two'], batchesOf(events, 1_000), { checkpointAt: 6, killAt: 13, workers: [3, 1] });
  t.ok(sorted(results['tumbling-two']).join('\n') === sorted(once.results['tumbling-two']).join('\n'), 'as without a crash, each result once');
});

t.test('what cannot be pre-aggregated is refused with why', async (t) => {
  const keyed = () => pipeline<{ k: string; t: number; v: number }>('p').keyBy((e) => e.k).eventTime((e) => e.t);
  const by = { preAggregateBy: (e: { v: number }) => e.v % 4 };
  t.match(keyed().window(tumbling(10)).aggregate({ f: first((e) => e.v), top: topN(2, (e) => e.v) }, by).problems(), [/'f' \(first\(\)\) ranks by arrival/, /'top' \(topN\(\)\) ranks by arrival/]);
  t.match(keyed().window(tumbling(10)).aggregate({ mine: { init: () => 0, add: (a: number) => a + 1, result: (a: number) => a } }, by).problems(), [/'mine' needs a merge\(\) function/]);
  t.match(keyed().window(session(10)).aggregate({ n: count() }, by).problems(), [/preAggregateBy takes tumbling\(\) or sliding\(\) windows, not session\(\)/]);
  t.match(keyed().window(tumbling(10), { allowedLatenessMs: 5 }).aggregate({ n: count() }, by).problems(), [/preAggregateBy with allowedLatenessMs/]);
  t.match(keyed().window(tumbling(10)).aggregate({ n: count() }, { preAggregateBy: 3 as never }).problems(), [/preAggregateBy must be a function/]);
});
