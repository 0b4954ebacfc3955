/**
 * An attestation is a node's signed statement about one update: which trainer build produced it,
 * under which sandbox policy, from which global model, for which job, round and coordinator nonce,
 * and the digest of the (encrypted) update bytes it accompanies. The coordinator accepts the update
 * only if every claim matches what it expects (coordinator/src/attestation).
 */
export const ATTESTATION_TYP = 'medfed-attestation+jwt';
export const ATTESTATION_VERSION = 1;

/**
 * Who vouches for the claims. `software`: the node agent signs with its own attestation key; this
 * proves the node's identity and the configuration it reports, NOT that the host is uncompromised
 * (an attacker with root on the host can make the agent sign anything). The hardware kinds are
 * reserved for quotes from a trusted execution environment (see docs/sandbox.md, roadmap).
 */
export const ATTESTER_KINDS = ['software', 'sgx', 'tdx', 'sev-snp'] as const;
export type AttesterKind = (typeof ATTESTER_KINDS)[number];

/** The kinds that can be produced and verified today. */
export const IMPLEMENTED_ATTESTER_KINDS: readonly AttesterKind[] = ['software'];

/** One line for every report that shows a software attestation. */
export const SOFTWARE_ATTESTATION_NOTICE =
  'software attestation: proves the node identity and the configuration it reports, not that the host is uncompromised';

/** What the agent states; the attester adds `v`, `attester`, `iat` and `exp`. */
export interface AttestationStatement {
  /** The node (site id) whose attestation key signs. */
  readonly site: string;
  readonly job: string;
  readonly round: number;
  /** The coordinator's fresh nonce for (job, round, site): 32 random bytes, base64url. */
  readonly nonce: string;
  /** SHA-256 (hex) over the trainer bundle (see trainerBuildDigest). */
  readonly trainerDigest: string;
  /** SHA-256 (hex) of the canonical JSON of the sandbox policy actually applied (see sandboxPolicyDigest). */
  readonly sandboxPolicyDigest: string;
  /** SHA-256 (hex) of the signed manifest (compact JWS bytes) of the global model training started from. */
  readonly manifestDigest: string;
  /** SHA-256 (hex) of the exact (encrypted) update bytes this attestation accompanies. */
  readonly updateSha256: string;
  /** false when the agent ran the trainer without the sandbox (development only). */
  readonly sandboxed: boolean;
}

export interface AttestationClaims extends AttestationStatement {
  readonly v: typeof ATTESTATION_VERSION;
  readonly attester: AttesterKind;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  /** Expires at, seconds since the epoch. */
  readonly exp: number;
}

/** Longest validity an attestation may claim; a verifier refuses longer ones. */
export const ATTESTATION_MAX_LIFETIME_SECONDS = 3600;
/** Validity a software attester gives by default: enough to upload the update it accompanies. */
export const ATTESTATION_DEFAULT_TTL_SECONDS = 600;
/** Largest compact JWS accepted (the claims are a few hundred bytes). */
export const ATTESTATION_MAX_BYTES = 16 * 1024;
