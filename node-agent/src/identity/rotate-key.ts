import type * as grpc from '@grpc/grpc-js';
import { FederationService } from '@medfed/proto';
import { generateAgentKey, saveAgentIdentity, type AgentIdentity } from './identity-files.js';
import type { NodeCredentials } from './node-credentials.js';

/** The coordinator's RotateKey, as the agent calls it (authenticated with the current key). */
export type RotateKeyCall = (request: { siteId: string; newKeyProof: string }, metadata: grpc.Metadata) => Promise<{ keyThumbprint: string }>;

/**
 * Rotates the agent key: a new key pair is generated here, the coordinator is told with the current
 * key's credentials plus a proof by the new key, then the new key replaces the old one on disk and in use.
 */
export async function rotateAgentKey(credentials: NodeCredentials, identity: AgentIdentity, stateDir: string, call: RotateKeyCall): Promise<AgentIdentity> {
  const fresh = generateAgentKey();
  const path = FederationService.rotateKey.path;
  const metadata = await credentials.metadataFor(path);
  const { keyThumbprint } = await call({ siteId: identity.siteId, newKeyProof: credentials.proof(path, undefined, fresh) }, metadata);
  if (keyThumbprint !== fresh.jkt) throw new Error(`the coordinator recorded key ${keyThumbprint}, not the new key ${fresh.jkt}`);
  const next: AgentIdentity = { ...identity, keyThumbprint: fresh.jkt };
  await saveAgentIdentity(stateDir, fresh, next);
  credentials.useKey(fresh);
  return next;
}
