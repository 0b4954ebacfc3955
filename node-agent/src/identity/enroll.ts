import * as grpc from '@grpc/grpc-js';
import { FederationClient, FederationService } from '@medfed/proto';
import { createDpopProof, GRPC_DPOP, GRPC_HTM, grpcHtu } from '@medfed/proto/auth/index';
import { fromServiceError } from '../transport/client.js';
import { THIS_AGENT, versionNegotiation, type VersionNegotiation } from '../transport/version-negotiation.js';
import { generateAgentKey, saveAgentIdentity, type AgentIdentity } from './identity-files.js';

export interface EnrollOptions {
  /** host:port of the coordinator's gRPC endpoint. */
  readonly coordinator: string;
  readonly channelCredentials: grpc.ChannelCredentials;
  readonly siteId: string;
  readonly code: string;
  readonly stateDir: string;
  readonly agentVersion: string;
  readonly timeoutMs?: number;
  /** What enrolment announces (default: this agent's protocol version and `agentVersion`). */
  readonly protocol?: VersionNegotiation;
}

/**
 * Enrolls this agent: generates a new Ed25519 key pair here, proves possession of it to the coordinator
 * with a DPoP proof while redeeming the one-time code, then stores key (0600) and identity in the state
 * directory. Re-enrolling replaces the key; the coordinator cuts off the old one.
 */
export async function enrollAgent(options: EnrollOptions): Promise<AgentIdentity> {
  const key = generateAgentKey();
  const client = new FederationClient(options.coordinator, options.channelCredentials, {
    interceptors: [versionNegotiation({ announce: { ...THIS_AGENT, agentVersion: options.agentVersion }, ...options.protocol })],
  });
  try {
    const md = new grpc.Metadata();
    md.set(GRPC_DPOP, createDpopProof({
      privateKey: key.privateKey, publicJwk: key.publicJwk, htm: GRPC_HTM, htu: grpcHtu(options.coordinator, FederationService.enrollKey.path),
    }));
    const response = await new Promise<{ siteId: string; keyThumbprint: string; issuer: string }>((resolve, reject) => {
      client.enrollKey({ siteId: options.siteId, enrollmentCode: options.code, agentVersion: options.agentVersion }, md,
        { deadline: Date.now() + (options.timeoutMs ?? 30_000) }, (err, res) => (err ? reject(fromServiceError(err)) : resolve(res)));
    });
    const identity: AgentIdentity = {
      siteId: response.siteId, issuer: response.issuer, keyThumbprint: response.keyThumbprint,
      coordinator: options.coordinator, enrolledAt: new Date().toISOString(),
    };
    if (identity.keyThumbprint !== key.jkt) throw new Error(`the coordinator recorded key ${identity.keyThumbprint}, not ours (${key.jkt})`);
    await saveAgentIdentity(options.stateDir, key, identity);
    return identity;
  } finally {
    client.close();
  }
}
