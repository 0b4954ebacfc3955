import canonicalize from 'canonicalize';
import { MANIFEST_TYP, type Manifest } from './manifest.js';
import type { Signer } from './signer.js';
import { validateManifest } from './validate-manifest.js';

/**
 * Signs a manifest as a compact JWS (EdDSA, typ medfed-manifest+jws). The payload is RFC 8785
 * canonical JSON, so the same manifest always yields the same payload bytes.
 */
export async function signManifest(manifest: Manifest, signer: Signer): Promise<string> {
  validateManifest(manifest);
  const payload = Buffer.from(canonicalize(manifest)!, 'utf8');
  return signer.sign(payload, { typ: MANIFEST_TYP });
}
