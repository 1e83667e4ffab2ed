import t from 'tap';
import { keyflow } from './helpers/cli.js';

t.test('keyflow generate: a rate <= 0 and negative counts are usage errors (rc 2), not events with null times', async (t) => {
  for (const [args, message] of [
    [['--rate', '0'], /--rate takes an integer of at least 1, got '0'/],
    [['--rate=-5'], /--rate takes an integer of at least 1, got '-5'/],
    [['--out-of-order=-1'], /--out-of-order takes an integer of at least 0, got '-1'/],
  ] as const) {
    const r = await keyflow(['generate', '--events', '3', ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message);
    t.equal(r.stdout, '', 'no events');
  }
  const negative = await keyflow(['generate', '--events=-3']);
  t.equal(negative.code, 2);
  t.match(negative.stderr, /--events takes an integer of at least 0, got '-3'/);
  const ok = await keyflow(['generate', '--events', '3', '--rate', '1', '--out-of-order', '0']);
  t.equal(ok.code, 0, ok.stderr);
  t.notMatch(ok.stdout, /null/);
});
