import t from 'tap';
import { fileURLToPath } from 'node:url';
import type { Ev } from './fixtures/keys.js';
import { fixture, runEngine } from './helpers/collect.js';
import { keyflow, parseLines } from './helpers/cli.js';

t.test('-0 and 0 are one key, emitted as 0, whatever the key-group count', async (t) => {
  const events: Ev[] = [{ k: 0, t: 1 }, { k: -0, t: 2 }, { k: -0, t: 3 }, { k: 0, t: 4 }, { k: -0, t: 150 }];
  for (const maxKeyGroups of [2, 128, 1000]) {
    const run = await runEngine({ module: fixture('keys'), workers: 2, maxKeyGroups }, [events]);
    const rows = (run.results.keys ?? []).map((r) => [Object.is(r.key, -0) ? '-0' : r.key, r.windowStart, r.n]);
    t.same(rows.sort(), [[0, 0, 4], [0, 100, 1]], `${maxKeyGroups} key-groups`);
    t.same(run.errors, []);
  }
});

t.test('a key that is ±Infinity becomes a dead letter (it would print as null)', async (t) => {
  const run = await runEngine({ module: fixture('keys'), workers: 2 }, [[{ k: 'a', t: 1 }, { key: 'inf', t: 2 }, { key: '-inf', t: 3 }, { k: 'a', t: 4 }] satisfies Ev[]]);
  t.same(run.results.keys?.map((r) => [r.key, r.n]), [['a', 2]]);
  t.match([...run.errors].sort((a, b) => a.position - b.position), [
    { code: 'ERR_KEYFLOW_BAD_KEY', stage: 'keyBy', pipeline: 'keys', position: 1, message: /keyBy\(\) returned Infinity: a number key must be finite/ },
    { code: 'ERR_KEYFLOW_BAD_KEY', stage: 'keyBy', pipeline: 'keys', position: 2, message: /keyBy\(\) returned -Infinity/ },
  ]);
  t.equal(run.errors.length, 2);
});

t.test('keyflow run: keys that are a function, a symbol or ±Infinity are dead letters; -0 is 0', async (t) => {
  const input = [
    { k: 'a', t: 1 },
    { k: 0, t: 2 },
    { key: 'fn', k: 'a', t: 3 },
    { key: 'symbol', k: 'a', t: 4 },
    { key: 'inf', t: 5 },
    { key: '-inf', t: 6 },
    { k: 'b', t: 7 },
  ].map((e) => JSON.stringify(e)).join('\n') + '\n{"k":-0,"t":8}\n';
  const r = await keyflow(['run', fileURLToPath(fixture('keys')), '--input', '-', '--output', '-', '--workers', '2'], input, 60_000);
  t.notOk(r.timedOut, 'the run finished (it hung, killed after 60 s)');
  t.equal(r.code, 0, r.stderr);
  t.same(parseLines(r.stdout).map((x) => [x.key, x.n]).sort(), [[0, 2], ['a', 1], ['b', 1]]);
  t.match(r.stderr, /error: keyBy\(\) of pipeline 'keys' at stdin:3: keyBy\(\) returned a function: a key must be/);
  t.match(r.stderr, /error: keyBy\(\) of pipeline 'keys' at stdin:4: keyBy\(\) returned a symbol/);
  t.match(r.stderr, /at stdin:5: keyBy\(\) returned Infinity/);
  t.match(r.stderr, /at stdin:6: keyBy\(\) returned -Infinity/);
  t.match(r.stderr, /errors: +4\n/);
});
