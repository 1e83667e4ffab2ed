import t from 'tap';
import { TimerHeap } from '../lib/actor-thread/operators/timer-heap.js';

t.test('timers fire in time order, registration order within a time, once per id', async (t) => {
  const timers = new TimerHeap<string>();
  const fired: string[] = [];
  for (const [time, id] of [[30, 'c'], [10, 'a'], [20, 'b1'], [20, 'b2'], [10, 'a'], [50, 'e'], [40, 'd']] as const) timers.register(time, id, `${id}@${time}`);
  timers.delete(40, 'd');
  t.equal(timers.size(), 5, 'a duplicate (time, id) is one timer; a deleted one is gone');
  timers.advance(25, (_time, p) => fired.push(p));
  t.same(fired, ['a@10', 'b1@20', 'b2@20']);
  timers.advance(24, (_time, p) => fired.push(p));
  t.equal(fired.length, 3, 'a watermark that does not advance fires nothing');
  timers.advance(Infinity, (time, p) => {
    fired.push(p);
    if (time === 30) timers.register(35, 'late', 'late@35'); // registered while firing, already due
  });
  t.same(fired, ['a@10', 'b1@20', 'b2@20', 'c@30', 'late@35', 'e@50']);
  t.equal(timers.size(), 0);
});

t.test('a heap of many random timers fires in sorted order', async (t) => {
  const timers = new TimerHeap<number>();
  const times = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 10_007);
  times.forEach((time, i) => timers.register(time, i, time));
  const fired: number[] = [];
  timers.advance(Infinity, (_time, p) => fired.push(p));
  t.same(fired, [...times].sort((a, b) => a - b));
});
