import type { Quorum } from './quorum.js';
import { tally } from './quorum.js';
import type { ApprovalRow, MissedStep, ReleaseRow } from './release-store.js';
import type { ReleaseState } from './state-machine.js';

/** One recorded approval; a site steward's carries its signature (docs/releases.md). */
export interface ApprovalView {
  readonly capacity: string;
  readonly approver: string;
  readonly role: string;
  readonly site: string | null;
  readonly at: Date;
  /** The steward's signed approval (compact JWS, typ medfed-steward-approval+jws), or null. */
  readonly signature: string | null;
  /** RFC 7638 thumbprint of the key that signed it. */
  readonly signedBy: string | null;
  readonly expiresAt: Date | null;
  /** True when the coordinator checked that key against the one the site used for the job's site list. */
  readonly keyChecked: boolean;
}

/** A release as the REST API and the registry show it. */
export interface ReleaseView {
  readonly id: string;
  readonly job: string;
  readonly round: number;
  readonly state: ReleaseState;
  readonly reason: string;
  readonly requestedBy: string;
  readonly quorum: Quorum;
  readonly approvals: readonly ApprovalView[];
  readonly sitesApproved: readonly string[];
  readonly complianceApprovals: number;
  readonly quorumReached: boolean;
  /** The encrypted round sum (or plaintext weights) the release starts from. */
  readonly inputModelId: string;
  readonly inputSha256: string;
  readonly decryptingSite: string | null;
  readonly countersigningSite: string | null;
  /** SHA-256 and size of the plaintext float32 model, once decrypted. */
  readonly sha256: string | null;
  readonly byteSize: number | null;
  /** The sites' signed statements (compact JWS, typ medfed-release-statement+jws). */
  readonly statements: { readonly decrypt: string | null; readonly countersign: string | null };
  /** The released model (an artifact of kind `released`), its manifest digest and log leaf. */
  readonly modelId: string | null;
  readonly manifestDigest: string | null;
  readonly leafIndex: number | null;
  readonly failure: { readonly code: string; readonly message: string } | null;
  /** When the current site step is due (null when no site step waits). */
  readonly stepDeadline: Date | null;
  /** The sites that missed a step's deadline, in order; each step went on to the next key holder. */
  readonly missedSteps: readonly MissedStep[];
  readonly cancelledBy: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export function releaseView(r: ReleaseRow, approvals: readonly ApprovalRow[], manifest: { digest: string; leaf_index: string | number | null } | null): ReleaseView {
  // Expiry matters while the release waits for approvals; afterwards the tally shows what approved it.
  const t = tally(r.quorum, approvals, r.state === 'requested' ? new Date() : undefined);
  return {
    id: r.id, job: r.job_id, round: r.round, state: r.state, reason: r.reason, requestedBy: r.requested_by, quorum: r.quorum,
    approvals: approvals.map((a) => ({
      capacity: a.capacity, approver: a.approver, role: a.role, site: a.site_id, at: a.approved_at,
      signature: a.approval ?? null, signedBy: a.approval_key ?? null, expiresAt: a.approval_expires_at ?? null, keyChecked: a.approval_key_checked ?? false,
    })),
    sitesApproved: t.sitesApproved, complianceApprovals: t.complianceApprovals, quorumReached: t.reached,
    inputModelId: r.input_model_id, inputSha256: r.input_sha256,
    decryptingSite: r.decrypting_site, countersigningSite: r.reproducing_site,
    sha256: r.plaintext_sha256, byteSize: r.plaintext_size === null ? null : Number(r.plaintext_size),
    statements: { decrypt: r.decrypt_statement, countersign: r.reproduce_statement },
    modelId: r.released_model_id, manifestDigest: manifest?.digest ?? null,
    leafIndex: manifest?.leaf_index === null || manifest === null ? null : Number(manifest.leaf_index),
    failure: r.failure_code ? { code: r.failure_code, message: r.failure ?? '' } : null,
    stepDeadline: r.step_deadline, missedSteps: r.missed_steps ?? [], cancelledBy: r.cancelled_by,
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}
