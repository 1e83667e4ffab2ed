import t from 'tap';
import { start } from './helpers/start.js';
import { fixture } from './helpers/collect.js';

t.test('stop() fires event-time windows but not processing-time timers that are not due', async (t) => {
  const engine = await start({ module: fixture('reminders'), workers: 2 });
  const results: unknown[] = [];
  engine.results('reminders').on('data', (r) => results.push(r));
  await engine.ingest([{ k: 'a', delay: 3_600_000 }, { k: 'b', delay: 3_600_000 }]);
  const summary = await engine.stop();
  t.same(results, [], 'an hour early: nothing fires at stop()');
  t.equal(summary.results, 0);
});
