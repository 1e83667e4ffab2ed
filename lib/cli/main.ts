#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { KeyflowError } from '../shared/errors.js';
import { corruptStateHint } from './corrupt-hint.js';
import type { Durability } from '../shared/actor-protocol.js';
import { UsageError } from './usage-error.js';

const USAGE = `usage:
  keyflow run <pipeline-module> --input <events.ndjson|-> --output <results.ndjson|->
              [--pipeline NAME]... [--late FILE] [--errors FILE] [--workers N] [--source-threads N]
              [--max-key-groups N] [--on-error skip|fail] [--max-call-ms MS (default 60000, 0: no limit)]
              [--state DIR [--durability batch|sync|none] [--repair]] [--serve PORT]
  keyflow run <pipeline-module> --from nats://HOST:PORT --stream STREAM [--subject SUBJECT] [--until-caught-up]
              --output <results.ndjson|-> [the options above]
  keyflow group <pipeline-module> --pipeline NAME --from nats://HOST:PORT --stream STREAM --subject-prefix PREFIX
              --partitions N --results-to SUBJECT [--late-to SUBJECT] --state DIR [--prefer 0-2,5] [--bucket NAME]
              [--lease-ms MS] [--checkpoint-ms MS] [--until-caught-up] [--at-end hold|publish]
  keyflow inspect <state-dir>
  keyflow inspect nats://HOST:PORT [--bucket NAME (default keyflow)] [--stream STREAM]   # a partition group
  keyflow demo [--events N] [--workers N] [--seed S]
  keyflow generate --events N [--seed S] [--rate EVENTS_PER_S] [--out-of-order MS] > events.ndjson
  keyflow help`;

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} takes an integer, got '${value}'`);
  return n;
}

/** An integer option that must be at least `min` (rate > 0, counts >= 0). */
function intAtLeast(name: string, value: string | undefined, min: number): number | undefined {
  const n = int(name, value);
  if (n !== undefined && n < min) throw new UsageError(`--${name} takes an integer of at least ${min}, got '${value}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (rest.includes('--help')) return main(['help']);
  switch (command) {
    case 'run': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          input: { type: 'string', short: 'i' },
          output: { type: 'string', short: 'o' },
          pipeline: { type: 'string', short: 'p', multiple: true },
          late: { type: 'string' },
          errors: { type: 'string' },
          workers: { type: 'string', short: 'w' },
          'max-key-groups': { type: 'string' },
          'on-error': { type: 'string' },
          state: { type: 'string' },
          durability: { type: 'string' },
          serve: { type: 'string' },
          'max-call-ms': { type: 'string' },
          'source-threads': { type: 'string' },
          repair: { type: 'boolean' },
          from: { type: 'string' },
          stream: { type: 'string' },
          subject: { type: 'string' },
          'until-caught-up': { type: 'boolean' },
        },
      });
      if (positionals.length !== 1) throw new UsageError('run takes exactly one pipeline module');
      if (values.repair && !values.state) throw new UsageError('--repair needs --state: it chooses the checkpoint a state directory resumes from');
      if ((values.input === undefined) === (values.from === undefined)) {
        throw new UsageError('run reads events from --input (a file, or - for stdin) or from a NATS JetStream stream (--from nats://HOST:PORT --stream STREAM): one of them');
      }
      if (!values.output) throw new UsageError('run needs --output (a file, or - for stdout)');
      if (values.from !== undefined && !values.stream) throw new UsageError('--from needs --stream: the JetStream stream to read');
      for (const flag of ['stream', 'subject', 'until-caught-up'] as const) {
        if (values[flag] !== undefined && values.from === undefined) throw new UsageError(`--${flag} goes with --from (a NATS JetStream stream)`);
      }
      const onError = values['on-error'];
      const durability = values.durability;
      if (durability !== undefined && !['none', 'batch', 'sync'].includes(durability)) throw new UsageError(`--durability takes batch, sync or none, got '${durability}'`);
      if (onError !== undefined && onError !== 'skip' && onError !== 'fail') throw new UsageError(`--on-error takes skip or fail, got '${onError}'`);
      // Each command's module is imported when it runs: a run does not load the others (nor they the engine).
      const { run } = await import('./run.js');
      return run({
        module: positionals[0],
        ...(values.input !== undefined ? { input: values.input } : {}),
        ...(values.from !== undefined ? { from: { servers: values.from, stream: values.stream!, untilCaughtUp: values['until-caught-up'] ?? false, ...(values.subject ? { subject: values.subject } : {}) } } : {}),
        output: values.output,
        ...(values.pipeline ? { pipelines: values.pipeline } : {}),
        ...(values.late ? { late: values.late } : {}),
        ...(values.errors ? { errors: values.errors } : {}),
        ...(values.workers ? { workers: int('workers', values.workers) } : {}),
        ...(values['max-key-groups'] ? { maxKeyGroups: int('max-key-groups', values['max-key-groups']) } : {}),
        ...(onError ? { onError } : {}),
        ...(values.state ? { state: values.state } : {}),
        ...(durability ? { durability: durability as Durability } : {}),
        ...(values.repair ? { repair: true } : {}),
        ...(values.serve !== undefined ? { serve: int('serve', values.serve) } : {}),
        ...(values['max-call-ms'] !== undefined ? { maxCallMs: int('max-call-ms', values['max-call-ms']) } : {}),
        ...(values['source-threads'] !== undefined ? { sourceThreads: int('source-threads', values['source-threads']) } : {}),
      });
    }
    case 'group': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          from: { type: 'string' }, stream: { type: 'string' }, 'subject-prefix': { type: 'string' }, partitions: { type: 'string' },
          prefer: { type: 'string' }, 'results-to': { type: 'string' }, 'late-to': { type: 'string' }, state: { type: 'string' },
          pipeline: { type: 'string', short: 'p' }, bucket: { type: 'string' }, 'lease-ms': { type: 'string' }, 'checkpoint-ms': { type: 'string' },
          'until-caught-up': { type: 'boolean' }, 'at-end': { type: 'string' },
        },
      });
      if (positionals.length !== 1) throw new UsageError('group takes exactly one pipeline module');
      for (const flag of ['from', 'stream', 'subject-prefix', 'partitions', 'results-to', 'state'] as const) {
        if (!values[flag]) throw new UsageError(`group needs --${flag}`);
      }
      const { group, partitionList } = await import('./group.js');
      const prefer = values.prefer === undefined ? undefined : partitionList(values.prefer);
      if (prefer === null) throw new UsageError(`--prefer takes partitions like 0-2,5, got '${values.prefer}'`);
      const pipeline = values.pipeline ?? '';
      if (!pipeline) throw new UsageError('group needs --pipeline: the pipeline whose results it publishes');
      const atEnd = values['at-end'];
      if (atEnd !== undefined && atEnd !== 'hold' && atEnd !== 'publish') throw new UsageError(`--at-end takes hold or publish, got '${atEnd}'`);
      return group({
        module: positionals[0], servers: values.from!, stream: values.stream!, subjectPrefix: values['subject-prefix']!,
        partitions: intAtLeast('partitions', values.partitions, 1)!, state: values.state!, pipelines: [pipeline],
        outputs: [{ pipeline, subject: values['results-to']! }, ...(values['late-to'] ? [{ pipeline, subject: values['late-to'], output: 'late' as const }] : [])],
        ...(prefer ? { prefer } : {}),
        ...(values.bucket ? { bucket: values.bucket } : {}),
        ...(values['lease-ms'] !== undefined ? { leaseTtlMs: intAtLeast('lease-ms', values['lease-ms'], 100) } : {}),
        ...(values['checkpoint-ms'] !== undefined ? { snapshotEveryMs: intAtLeast('checkpoint-ms', values['checkpoint-ms'], 1) } : {}),
        ...(values['until-caught-up'] ? { untilCaughtUp: true } : {}),
        ...(atEnd ? { atEnd } : {}),
      });
    }
    case 'inspect': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { bucket: { type: 'string' }, stream: { type: 'string' } } });
      if (positionals.length !== 1) throw new UsageError('inspect takes one state directory, or the nats:// URL of a partition group\'s server');
      if (positionals[0].startsWith('nats://')) {
        const { inspectPartitions } = await import('./inspect-partitions.js');
        process.stdout.write(await inspectPartitions(positionals[0], values.bucket ?? 'keyflow', values.stream));
        return 0;
      }
      if (values.bucket !== undefined || values.stream !== undefined) throw new UsageError('--bucket and --stream go with inspect nats://HOST:PORT');
      const { inspect } = await import('./inspect.js');
      const { text, corrupt } = inspect(positionals[0]);
      process.stdout.write(text);
      for (const problem of corrupt) process.stderr.write(`keyflow: ${problem}\n`);
      return corrupt.length === 0 ? 0 : 1;
    }
    case 'demo': {
      const { values } = parseArgs({ args: rest, options: { events: { type: 'string' }, workers: { type: 'string', short: 'w' }, seed: { type: 'string' } } });
      const workers = int('workers', values.workers);
      const { demo } = await import('./demo.js');
      return demo({ events: int('events', values.events) ?? 1_000_000, seed: int('seed', values.seed) ?? 42, ...(workers === undefined ? {} : { workers }) });
    }
    case 'generate': {
      const { values } = parseArgs({ args: rest, options: { events: { type: 'string', short: 'n' }, seed: { type: 'string' }, rate: { type: 'string' }, 'out-of-order': { type: 'string' } } });
      const events = intAtLeast('events', values.events, 0);
      if (events === undefined) throw new UsageError('generate needs --events N');
      const rate = intAtLeast('rate', values.rate, 1);
      const outOfOrderMs = intAtLeast('out-of-order', values['out-of-order'], 0);
      const { generate } = await import('./generate.js');
      return generate(events, {
        seed: int('seed', values.seed) ?? 42,
        ...(rate === undefined ? {} : { eventsPerSecond: rate }),
        ...(outOfOrderMs === undefined ? {} : { outOfOrderMs }),
      });
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(command ? `unknown command '${command}'` : 'no command given');
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    if (err instanceof UsageError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`keyflow: ${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`keyflow: ${err instanceof KeyflowError ? err.message + corruptStateHint(err) : err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
