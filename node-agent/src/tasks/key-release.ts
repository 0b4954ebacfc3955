import { keyReleaseStatement, type Attester } from '@medfed/proto/attestation/index';
import type { WrappedJobKey } from '../custody/job-key-store.js';
import type { TrainerSandbox } from '../sandbox/index.js';
import type { CoordinatorClient } from '../transport/client.js';

export interface AttestedKeyFetch {
  readonly client: Pick<CoordinatorClient, 'requestKeyReleaseNonce' | 'fetchJobKey'>;
  readonly siteId: string;
  /** The node's attester (today the software attester: it proves the node's identity and reported configuration). */
  readonly attester: Attester;
  /** Supplies the trainer build and sandbox policy measurements the coordinator checks against the job's allowlist. */
  readonly sandbox: Pick<TrainerSandbox, 'trainerDigest' | 'policyDigest' | 'sandboxed'>;
}

/**
 * Fetches the job's wrapped key the only way the coordinator hands it out: a fresh key-release
 * nonce for (job, epoch, site), then an attestation by this node's attestation key whose binding
 * fields carry the key-release purpose digest, sent with FetchJobKey (docs/sandbox.md, "Key release").
 */
export async function fetchAttestedJobKey(options: AttestedKeyFetch, jobId: string, wantEpoch = 0): Promise<WrappedJobKey> {
  const { client, siteId, attester, sandbox } = options;
  const { nonce, epoch } = await client.requestKeyReleaseNonce(siteId, jobId);
  const attestation = await attester.attest(keyReleaseStatement(
    { trainerDigest: sandbox.trainerDigest, sandboxPolicyDigest: sandbox.policyDigest, sandboxed: sandbox.sandboxed },
    { site: siteId, job: jobId, epoch, nonce },
  ));
  // The attestation is for the job's current epoch; `wantEpoch` selects which epoch's key comes back (0: the latest).
  const k = await client.fetchJobKey(siteId, jobId, attestation, wantEpoch);
  return { epoch: k.epoch, paramSet: k.paramSet, keyId: k.keyId, jwe: k.wrappedKey };
}
