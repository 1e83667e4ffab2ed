import t from 'tap';
import { SourceWatermarks } from '../lib/shared/time/source-watermarks.js';

t.test('the watermark is the least of the sources\', each max time seen - outOfOrder - 1', async (t) => {
  const w = new SourceWatermarks(10, null);
  t.equal(w.current(), -Infinity, 'nothing seen yet');
  w.observe(1, 100);
  t.equal(w.current(), 89);
  w.observe(2, 500);
  t.equal(w.current(), 89, 'the slower source holds it');
  w.observe(1, 50);
  t.equal(w.current(), 89, 'an older time does not move it back');
  w.observe(1, 300);
  t.equal(w.current(), 289);
});

t.test('restored after recovery, the watermark is the least of the checkpoint\'s sources, never the largest', async (t) => {
  const w = new SourceWatermarks(10, null);
  w.restore([500, 100, 300]);
  t.equal(w.current(), 89);
  w.resume(7, 500);
  t.equal(w.current(), 489, 'a returning source resumes with its own largest time');
  const fresh = new SourceWatermarks(10, null);
  fresh.restore([]);
  t.equal(fresh.current(), -Infinity, 'a checkpoint without sources restores nothing');
});

t.test('an idle source stops holding the watermark; when all are idle it goes to the largest shown', async (t) => {
  const w = new SourceWatermarks(0, 1000);
  w.tick(0);
  w.observe(1, 100);
  w.observe(2, 900);
  t.equal(w.current(), 99);
  w.tick(500);
  w.observe(2, 950);
  w.tick(1200); // source 1 last sent at 0: idle; source 2 at 500: active
  t.equal(w.current(), 949);
  w.tick(5000);
  t.equal(w.current(), 949, 'all idle: the largest any has shown');
  w.observe(1, 120);
  t.equal(w.current(), 949, 'a returning source holds it again, but it never goes back');
});

t.test('a slower source that joins later never moves the watermark back', async (t) => {
  const w = new SourceWatermarks(10, null);
  w.observe(1, 100);
  t.equal(w.current(), 89);
  w.observe(2, 99);
  t.equal(w.current(), 89, 'held where it was, though the least source is now at 99');
  w.observe(3, 95);
  t.equal(w.current(), 89, 'and at 95');
  w.observe(2, 120);
  w.observe(3, 130);
  t.equal(w.current(), 89, 'source 1 still holds it');
  w.observe(1, 140);
  t.equal(w.current(), 109);
});

t.test('each source\'s largest time, as a checkpoint records it, never goes back', async (t) => {
  const w = new SourceWatermarks(0, null);
  w.observe(1, 100);
  w.observe(2, 500);
  w.observe(1, 50);
  w.observe(2, 500);
  t.same(w.largest(), [[1, 100], [2, 500]]);
});

t.test('a source is idle from exactly idleAfterMs after it last sent; all idle, the largest wins whatever the order', async (t) => {
  const w = new SourceWatermarks(0, 1000);
  w.tick(0);
  w.observe(1, 960);
  w.observe(2, 100);
  w.tick(999);
  w.observe(3, 950);
  t.equal(w.current(), 99, 'source 2 sent 999 ms ago: not idle yet');
  w.tick(1000);
  t.equal(w.current(), 949, 'at 1000 ms sources 1 and 2 are idle, source 3 holds it');
  w.tick(5000);
  t.equal(w.current(), 959, 'all idle: the largest shown is source 1\'s 960, not the latest source\'s 950');
});
