/**
 * How the tests start a Node child process: through env(1), which takes NODE_OPTIONS out again. tap's
 * process tracking (@tapjs/processinfo) puts its module hooks into the environment of every child it sees
 * spawned, whatever the test passed; on Node 20 each of that child's threads then starts a hooks thread of
 * its own and sends every module it loads through it (see start.ts), which made an engine in a child about
 * twice as slow. env(1) execs node, so the child's pid is node's and signals reach it.
 */
export function nodeCommand(args: string[]): [command: string, args: string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, ...args]];
}
