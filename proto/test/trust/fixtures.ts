import { generateKeyPairSync } from 'node:crypto';
import { createDevCa, issueServerCertificate } from '../../../coordinator/src/keys/dev-ca.js';
import { publicJwkOf, jwkThumbprint } from '../../src/auth/jwk.js';
import { generateManifestKeyPair } from '../../src/manifest/signer.js';
import { generateNoteKey } from '../../src/tlog/note-keys.js';
import type { TrustBundleContents } from '../../src/trust/index.js';

export const LOG_ORIGIN = 'medfed-coordinator-test/log';

/** A coordinator's public anchors as `medfed trust export` writes them: real keys and a real CA. */
export async function bundleContents(overrides: Partial<TrustBundleContents> = {}): Promise<TrustBundleContents & { serverCertPem: string }> {
  const ca = createDevCa({ commonName: 'test consortium CA' });
  const manifestKey = await generateManifestKeyPair('medfed-manifest-20260101-abcdef');
  const tokenJwk = publicJwkOf(generateKeyPairSync('ed25519').privateKey);
  return {
    version: 1,
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
    coordinator: { rest: 'https://coordinator.example:8443', grpc: 'coordinator.example:9443', consortium: 'North Sea Hospitals', logOrigin: LOG_ORIGIN },
    files: {
      ca: ca.certPem,
      'manifest-jwks': `${JSON.stringify({ keys: [manifestKey.publicJwk] }, null, 2)}\n`,
      'token-jwks': `${JSON.stringify({ keys: [{ ...tokenJwk, kid: jwkThumbprint(tokenJwk), alg: 'EdDSA', use: 'sig' }] }, null, 2)}\n`,
      'log-key': `${generateNoteKey(LOG_ORIGIN).verifierKey}\n`,
    },
    serverCertPem: issueServerCertificate(ca, ['coordinator.example'], { caCommonName: 'test consortium CA' }).certPem,
    ...overrides,
  };
}
