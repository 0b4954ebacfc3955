import { generateKeyPairSync } from 'node:crypto';
import { signStewardApproval, type Ed25519PublicJwk } from '@medfed/proto/governance/index';
import type { SiteKeys } from '@medfed/node-agent/custody/site-keys';

/** The release a steward signs for, as GET /v1/releases/:id shows it. */
export interface ReleaseShown {
  readonly id: string;
  readonly job: string;
  readonly round: number;
  readonly inputSha256: string;
}

/** A signer: a site's steward key (from its agent's state dir), or any Ed25519 key a test makes. */
export interface ApprovalKey {
  readonly privateKey: unknown;
  readonly publicJwk: Ed25519PublicJwk;
}

/** The steward key of a site, as `medfed agent approve-release` signs with it. */
export function stewardKeyOf(keys: SiteKeys): ApprovalKey {
  return { privateKey: keys.steward.privateKey, publicJwk: keys.steward.publicJwk as Ed25519PublicJwk };
}

/** A fresh Ed25519 key: a steward key no agent holds, or what someone without a steward key signs with. */
export function generateApprovalKey(): ApprovalKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicJwk: publicKey.export({ format: 'jwk' }) as Ed25519PublicJwk };
}

/** A steward approval of `release` signed as `site` (consortium `default` unless given), valid for an hour. */
export function signedReleaseApproval(release: ReleaseShown, site: string, key: ApprovalKey, options: { consortium?: string; expiresInS?: number; round?: number } = {}): string {
  return signStewardApproval({
    consortium: options.consortium ?? 'default', job: release.job, release: release.id, round: options.round ?? release.round, step: 'release',
    inputSha256: release.inputSha256, expiresAt: Math.floor(Date.now() / 1000) + (options.expiresInS ?? 3600), signerRole: 'steward', signer: site,
  }, key as never);
}
