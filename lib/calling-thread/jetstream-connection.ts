/** A connection to NATS with JetStream, for the JetStream source and sink (loaded only when one is used). */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { KeyflowError, codes, describeThrown } from '../shared/errors.js';

export interface JetStreamServers {
  /**
   * NATS server URLs (`nats://host:port`, or `host:port`). Credentials may be in them, as the NATS CLI takes
   * them: `nats://user:password@host:port`, or a token as `nats://token@host:port`.
   */
  servers: string | string[];
  /** The user and password the server asks for (instead of in the URL). */
  user?: string;
  pass?: string;
  /** The token the server asks for (instead of in the URL). */
  token?: string;
}

export type Credentials = Pick<JetStreamServers, 'user' | 'pass' | 'token'>;

/** The credentials given as options, to hand on with the same servers (a partition group to its engines). */
export function credentialsOf({ user, pass, token }: JetStreamServers): Credentials {
  return { ...(user === undefined ? {} : { user }), ...(pass === undefined ? {} : { pass }), ...(token === undefined ? {} : { token }) };
}

/**
 * The server URLs without credentials (what is connected to, and named in messages), and the credentials:
 * the options', else the first URL's. The client takes none from a URL itself.
 */
export function splitCredentials(options: JetStreamServers): { urls: string[]; credentials: Credentials } {
  let fromUrl: Credentials = {};
  const urls = [options.servers].flat().map((server) => {
    if (!server.includes('@')) return server;
    const url = new URL(server.includes('://') ? server : `nats://${server}`);
    if (url.username === '') return server;
    const user = decodeURIComponent(url.username);
    if (Object.keys(fromUrl).length === 0) fromUrl = url.password === '' ? { token: user } : { user, pass: decodeURIComponent(url.password) };
    return `${url.protocol}//${url.host}`;
  });
  const given = credentialsOf(options);
  return { urls, credentials: Object.keys(given).length > 0 ? given : fromUrl };
}

/** Connect to `servers` for `purpose` (named in the error, ERR_KEYFLOW_CONFIG, if no server answers). */
export async function connectJetStream(options: JetStreamServers, purpose: string): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
  const { urls, credentials } = splitCredentials(options);
  let nc: NatsConnection;
  try {
    // Reconnect without end: a server restarted mid-run is waited for (publishes and pulls retry meanwhile).
    nc = await connect({ servers: urls, ...credentials, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  } catch (err) {
    throw new KeyflowError(codes.CONFIG, `cannot connect to NATS at ${urls.join(', ')} for the ${purpose}: ${describeThrown(err)}`, err);
  }
  return { nc, js: jetstream(nc) };
}
