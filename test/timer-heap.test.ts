import t from 'tap';
import { TimerHeap } from '../lib/actor-thread/operators/timer-heap.js';

t.test('timers fire by time, those of one time in the order registered, each once', async (t) => {
  const heap = new TimerHeap<string>();
  for (const [time, id] of [[30, 'c'], [10, 'a'], [20, 'b'], [10, 'a2'], [10, 'a'], [Infinity, 'end']] as const) heap.register(time, id, `${id}@${time}`);
  heap.delete(20, 'b');
  const fired: string[] = [];
  heap.advance(15, (_time, payload) => fired.push(payload));
  t.same(fired, ['a@10', 'a2@10'], 'up to 15: time 10, in registration order, a registered twice once');
  t.equal(heap.earliest(), 20, 'a deleted timer\'s time stays until popped');
  heap.advance(Infinity, (_time, payload) => fired.push(payload));
  t.same(fired, ['a@10', 'a2@10', 'c@30', 'end@Infinity'], 'to the end of time: the rest, the deleted one skipped');
  t.equal(heap.earliest(), Infinity, 'nothing is left');
  heap.advance(Infinity, () => t.fail('nothing fires'));
  t.equal(heap.size(), 0, 'and advancing an empty heap to the end of time returns');
});
