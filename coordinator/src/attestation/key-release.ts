import { keyReleasePurposeDigest, type AttestationPublicJwk } from '@medfed/proto/attestation/index';
import type { JobSpec } from '@medfed/proto';
import type { AuditRecorder } from '../federation/audit-recorder.js';
import { FederationError } from '../federation/errors.js';
import { allEpochs } from '../federation/key-ceremony.js';
import { participantsOf } from '../federation/participants.js';
import type { Queryable } from '../storage/db.js';
import { AttestationVerificationError } from './errors.js';
import type { NonceStore } from './nonce-store.js';
import { verifyAttestation, type AttestationEnv } from './verify-attestation.js';

export interface KeyReleaseGateOptions {
  readonly db: Queryable;
  /** The same store as training nonces; key-release nonces live in their own scope (`purpose`). */
  readonly nonces: NonceStore;
  readonly env: AttestationEnv;
  readonly audit: AuditRecorder;
  readonly now?: () => Date;
}

/** What FetchJobKey may release and what its `key.release` audit event records. */
export interface KeyReleaseVerdict {
  /** The key epoch the attestation was made for: the key released must be of this epoch. */
  readonly epoch: number;
  /** `attestation:sandboxed` / `attestation:unsandboxed-development`, or `custody:unattested-development`. */
  readonly rule: string;
  readonly details: Readonly<Record<string, string>>;
}

export interface IssuedKeyReleaseNonce {
  readonly nonce: string;
  readonly epoch: number;
  readonly expiresAt: Date;
}

interface ReleaseFacts {
  readonly epoch: number;
  readonly keyId: string;
  readonly allowlist: readonly string[];
  readonly attestationKey: AttestationPublicJwk | null;
}

/**
 * The wrapped homomorphic key of a job goes to a site only after that site's attestation for this
 * job and key epoch verifies, with the same rules as a contribution's (verifyAttestation): its
 * registered attestation key, a trainer build on the job's allowlist, in production a sandboxed
 * trainer, and a fresh single-use nonce from the key-release scope. Its binding fields carry the
 * key-release purpose digest (proto/src/attestation/key-release-purpose.ts). Every refusal is a
 * `key.release` audit event with verdict `fail` and the refusing code.
 *
 * A development job without a trainer allowlist has nothing to attest against (its updates are not
 * attested either); its key is released unattested and the audit event says so. Production never
 * creates such a job, and refuses the release if one exists.
 */
export class KeyReleaseGate {
  readonly #options: KeyReleaseGateOptions;

  constructor(options: KeyReleaseGateOptions) {
    this.#options = options;
  }

  /** A fresh nonce for the site's key release at the job's current key epoch; supersedes an unused earlier one. */
  async issueNonce(siteId: string, jobId: string): Promise<IssuedKeyReleaseNonce> {
    const facts = await this.#facts(siteId, jobId);
    const issued = await this.#options.nonces.issue({ job: jobId, round: facts.epoch, site: siteId, purpose: 'key-release' }, this.#now());
    return { nonce: issued.nonce, epoch: facts.epoch, expiresAt: issued.expiresAt };
  }

  /** Decides whether the site's attestation unlocks its wrapped key; throws (and audits) when not. */
  async verify(siteId: string, jobId: string, attestation: string): Promise<KeyReleaseVerdict> {
    const facts = await this.#facts(siteId, jobId);
    if (facts.allowlist.length === 0 && this.#options.env === 'development') {
      return { epoch: facts.epoch, rule: 'custody:unattested-development', details: { reason: 'UNATTESTED_DEVELOPMENT' } };
    }
    try {
      if (facts.allowlist.length === 0) {
        throw new AttestationVerificationError('KEY_RELEASE_UNATTESTED', `job ${jobId} has no trainer allowlist, so no attestation can unlock its key in production`);
      }
      if (attestation.length === 0) {
        throw new AttestationVerificationError('KEY_RELEASE_UNATTESTED',
          `site ${siteId} asked for the key of job ${jobId} without an attestation; request a nonce (RequestKeyReleaseNonce) and attest for epoch ${facts.epoch}`);
      }
      const purpose = keyReleasePurposeDigest(jobId, facts.epoch);
      const verified = await verifyAttestation(attestation, {
        nodeKeys: new Map([[siteId, facts.attestationKey ? [facts.attestationKey] : []]]),
        allowlist: facts.allowlist,
        expected: { site: siteId, job: jobId, round: facts.epoch, updateSha256: purpose, manifestDigest: purpose, purpose: 'key-release' },
        nonces: this.#options.nonces,
        env: this.#options.env,
        now: this.#now(),
      });
      return {
        epoch: facts.epoch,
        rule: `attestation:${verified.claims.sandboxed ? 'sandboxed' : 'unsandboxed-development'}`,
        details: { verdict: 'pass', measurement: verified.claims.trainerDigest, key_id: facts.keyId },
      };
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ATTESTATION_MALFORMED';
      const measurement = err instanceof AttestationVerificationError && typeof err.details?.trainerDigest === 'string' ? err.details.trainerDigest : undefined;
      await this.#options.audit.append({
        actor: siteId, role: 'node', site: siteId, action: 'key.release', resource: `job:${jobId}`, outcome: 'denied',
        rule: `attestation:${code}`,
        details: { job: jobId, key_id: facts.keyId, verdict: 'fail', reason: code, ...(measurement ? { measurement } : {}) },
      });
      throw err;
    }
  }

  /** The release's preconditions: an active site that holds (or held) a wrapped key of the job, whose keys are ready. */
  async #facts(siteId: string, jobId: string): Promise<ReleaseFacts> {
    const { db } = this.#options;
    const { rows: sites } = await db.query<{ status: string; attestation_jwk: AttestationPublicJwk | null }>(
      'SELECT status, attestation_jwk FROM sites WHERE id = $1', [siteId]);
    const site = sites[0];
    if (!site) throw new FederationError('UNKNOWN_SITE', `no site "${siteId}" is registered at this coordinator`);
    if (site.status === 'suspended') throw new FederationError('SITE_SUSPENDED', `site ${siteId} is suspended`);
    if (site.status === 'revoked') throw new FederationError('SITE_REVOKED', `site ${siteId} was revoked`);
    const { rows: jobs } = await db.query<{ spec: JobSpec }>('SELECT spec FROM jobs WHERE id = $1', [jobId]);
    const job = jobs[0];
    if (!job) throw new FederationError('UNKNOWN_JOB', `no job ${jobId}`);
    // The attestation is bound to the latest ready epoch; a ceremony still running for a later one does not count.
    const ready = (await allEpochs(db, jobId)).filter((r) => r.status === 'ready' && r.wrapped_keys && r.public_params);
    const keys = ready.at(-1);
    if (!keys) throw new FederationError('ROUND_MISMATCH', `job ${jobId} has no keys yet`);
    const holder = ready.some((r) => r.wrapped_keys![siteId] !== undefined) || participantsOf(job.spec).includes(siteId);
    if (!holder) throw new FederationError('SITE_NOT_IN_JOB', `site ${siteId} is not a key holder of job ${jobId}`);
    const { rows: admitted } = await db.query<{ measurement: string }>('SELECT measurement FROM job_trainers WHERE job_id = $1', [jobId]);
    return {
      epoch: keys.epoch,
      keyId: keys.public_params!.keyId,
      allowlist: [...(job.spec.trainerAllowlist ?? []), ...admitted.map((a) => a.measurement)],
      attestationKey: site.attestation_jwk,
    };
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }
}
