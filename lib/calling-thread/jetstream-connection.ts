/** A connection to NATS with JetStream, for the JetStream source and sink (loaded only when one is used). */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { KeyflowError, codes, describeThrown } from '../shared/errors.js';

export interface JetStreamServers {
  /** NATS server URLs (`nats://host:port`, or `host:port`). */
  servers: string | string[];
}

/** Connect to `servers` for `purpose` (named in the error, ERR_KEYFLOW_CONFIG, if no server answers). */
export async function connectJetStream({ servers }: JetStreamServers, purpose: string): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
  let nc: NatsConnection;
  try {
    // Reconnect without end: a server restarted mid-run is waited for (publishes and pulls retry meanwhile).
    nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  } catch (err) {
    throw new KeyflowError(codes.CONFIG, `cannot connect to NATS at ${[servers].flat().join(', ')} for the ${purpose}: ${describeThrown(err)}`, err);
  }
  return { nc, js: jetstream(nc) };
}
