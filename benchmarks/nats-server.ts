/** A nats-server with JetStream on loopback, for the JetStream benchmark and tests: `nats-server -js` on `port`, storing in `store`. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** The server once it says it is ready (it logs to stderr); `config`: a configuration file of its own too. */
export function runNatsServer(port: number, store: string, config?: string): Promise<ChildProcess> {
  const p = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store, ...(config === undefined ? [] : ['-c', config])], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    p.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Server is ready')) resolve(p);
    });
    p.once('exit', (code) => reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`)));
  });
}

/** A loopback port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
