import type { AttestationStatement, AttesterKind } from './claims.js';
import type { AttestationPublicJwk } from './attestation-key.js';

/**
 * Produces the signed attestation (compact JWS, typ medfed-attestation+jwt) for one statement.
 * Implementations: `createSoftwareAttester` today. Hardware attesters (SGX, TDX, SEV-SNP) would bind
 * the same claims into a quote's report data; they are documented in docs/sandbox.md and not
 * implemented.
 */
export interface Attester {
  readonly kind: AttesterKind;
  /** The key id the coordinator registers for this node's attestation key. */
  readonly kid: string;
  readonly publicJwk: AttestationPublicJwk;
  attest(statement: AttestationStatement): Promise<string>;
}
