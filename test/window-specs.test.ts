import t from 'tap';
import { session, sessionsTouch } from '../lib/pipeline/windows/session.js';
import { sliding } from '../lib/pipeline/windows/sliding.js';
import { tumbling } from '../lib/pipeline/windows/tumbling.js';
import { windowSpecProblem } from '../lib/pipeline/windows/window.js';

// Which window definitions are accepted, what a rejection says, and when two sessions of a key merge.

t.test('sizes, slides and gaps must be positive whole milliseconds; a slide may equal its size', async (t) => {
  for (const spec of [tumbling(1), tumbling(60_000), sliding(10, 10), sliding(10, 1), session(1)]) t.equal(windowSpecProblem(spec), null, JSON.stringify(spec));
  const wrong = (what: string, got: string) => `${what} must be a positive integer number of milliseconds, got ${got}`;
  t.equal(windowSpecProblem(tumbling(0)), wrong('tumbling() size', '0'));
  t.equal(windowSpecProblem(tumbling(1.5)), wrong('tumbling() size', '1.5'));
  t.equal(windowSpecProblem(tumbling(NaN)), wrong('tumbling() size', 'NaN'));
  t.equal(windowSpecProblem(tumbling(Infinity)), wrong('tumbling() size', 'Infinity'));
  t.equal(windowSpecProblem(sliding(-10, 5)), wrong('sliding() size', '-10'));
  t.equal(windowSpecProblem(sliding(10, 2.5)), wrong('sliding() slide', '2.5'));
  t.equal(windowSpecProblem(sliding(0, 0)), wrong('sliding() size', '0'), 'the first problem is reported');
  t.equal(windowSpecProblem(sliding(10, 11)), 'sliding() slide (11) must not exceed its size (10)');
  t.equal(windowSpecProblem(session(-1)), wrong('session() gap', '-1'));
});

t.test('two sessions of a key merge when they overlap or touch, at either end', async (t) => {
  t.ok(sessionsTouch(0, 10, 5, 15), 'overlapping');
  t.ok(sessionsTouch(0, 10, 10, 20), 'the second starts where the first ends');
  t.ok(sessionsTouch(10, 20, 0, 10), 'the first starts where the second ends');
  t.ok(sessionsTouch(0, 30, 10, 20), 'one inside the other');
  t.notOk(sessionsTouch(0, 10, 11, 20), 'a gap after');
  t.notOk(sessionsTouch(11, 20, 0, 10), 'a gap before');
});
