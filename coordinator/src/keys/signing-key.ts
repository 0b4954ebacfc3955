import type { PublicJwk } from '@medfed/proto/auth/index';
import type { Signer } from '@medfed/proto/manifest/index';

/** A published verification key: the public part of a token signing key, as it appears in the JWKS. */
export type PublishedJwk = PublicJwk & { readonly kid: string; readonly alg: 'EdDSA' | 'ES256'; readonly use: 'sig' };

/**
 * A token signing key. Signing goes through the `Signer` of model manifests (proto/src/manifest):
 * the signer owns `alg` and `kid`, the caller supplies `typ`. The private key may live in a file, a
 * KMS or an HSM; only `signer` touches it.
 */
export interface TokenSigningKey {
  readonly kid: string;
  readonly signer: Signer;
  readonly publicJwk: PublishedJwk;
  readonly createdAt: Date;
  /** When it stopped signing; it stays published until every token it signed has expired. */
  readonly retiredAt: Date | null;
}

/**
 * Where signing keys live. The file store is the default; a KMS or HSM adapter implements the same
 * four operations (`create` asks the device for a new key and returns a signer bound to it).
 */
export interface SigningKeyStore {
  list(): Promise<TokenSigningKey[]>;
  create(now: Date): Promise<TokenSigningKey>;
  retire(kid: string, at: Date): Promise<void>;
  remove(kid: string): Promise<void>;
}
