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
  /** The user and password the server asks for (instead of in the URL; given as options, they replace the URL's). */
  user?: string;
  pass?: string;
  /** The token the server asks for (instead of in the URL; given as an option, it replaces the URL's). */
  token?: string;
}

export type Credentials = Pick<JetStreamServers, 'user' | 'pass' | 'token'>;

/** The credentials given as options, to hand on with the same servers (a partition group to its engines). */
export function credentialsOf({ user, pass, token }: JetStreamServers): Credentials {
  return { ...(user === undefined ? {} : { user }), ...(pass === undefined ? {} : { pass }), ...(token === undefined ? {} : { token }) };
}

/**
 * The server URLs without credentials (what is connected to, and named in messages), and the credentials:
 * the options' if any are given, else the URLs' (`user:password@` or `token@` before the host, as the NATS
 * CLI takes them; every URL that carries any must carry the same). The client takes none from a URL itself.
 */
export function splitCredentials(options: JetStreamServers): { urls: string[]; credentials: Credentials } {
  const found: Credentials[] = [];
  const urls = [options.servers].flat().map((server) => {
    const at = server.lastIndexOf('@');
    if (at < 0) return server;
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(server)?.[0] ?? '';
    const host = server.slice(at + 1);
    const userinfo = server.slice(scheme.length, at);
    const colon = userinfo.indexOf(':');
    const decoded = (part: string) => {
      try {
        return decodeURIComponent(part);
      } catch {
        throw new KeyflowError(codes.CONFIG, `the credentials in the URL of NATS server ${scheme}${host} are not valid percent-encoding`);
      }
    };
    if (colon >= 0) found.push({ user: decoded(userinfo.slice(0, colon)), pass: decoded(userinfo.slice(colon + 1)) });
    else if (userinfo !== '') found.push({ token: decoded(userinfo) });
    return scheme + host;
  });
  const given = credentialsOf(options);
  if (Object.keys(given).length > 0) return { urls, credentials: given };
  const differ = found.some((c) => c.user !== found[0].user || c.pass !== found[0].pass || c.token !== found[0].token);
  if (differ) throw new KeyflowError(codes.CONFIG, `the NATS servers ${urls.join(', ')} carry different credentials in their URLs: keyflow connects to them with one set (give it as options)`);
  return { urls, credentials: found[0] ?? {} };
}

/** Connect to `servers` for `purpose` (named in the error, ERR_KEYFLOW_CONFIG, if no server answers). */
export async function connectJetStream(options: JetStreamServers, purpose: string): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
  const { urls, credentials } = splitCredentials(options);
  let nc: NatsConnection;
  try {
    // Reconnect without end: a server restarted mid-run is waited for (publishes and pulls retry meanwhile),
    // also one that refuses the credentials for a while (the client otherwise gives up after two refusals).
    nc = await connect({ servers: urls, ...credentials, maxReconnectAttempts: -1, reconnectTimeWait: 250, ignoreAuthErrorAbort: true });
  } catch (err) {
    throw new KeyflowError(codes.CONFIG, `cannot connect to NATS at ${urls.join(', ')} for the ${purpose}: ${describeThrown(err)}`, err);
  }
  return { nc, js: jetstream(nc) };
}
