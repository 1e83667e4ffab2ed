import t from 'tap';
import { keyflow } from './helpers/cli.js';

t.test('keyflow --help, -h, help and <command> --help print the usage on stdout and exit 0', async (t) => {
  for (const arg of ['--help', '-h', 'help', 'run --help', 'inspect --help']) {
    const r = await keyflow(arg.split(' '));
    t.equal(r.code, 0, `${arg}: ${r.stderr}`);
    t.match(r.stdout, /^usage:\n {2}keyflow run <pipeline-module>/, arg);
    t.match(r.stdout, /--repair/, `${arg}: every run option`);
    t.equal(r.stderr, '', arg);
  }
});
