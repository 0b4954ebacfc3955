import { CLEAN_DIGEST, keyPair } from './fixture-tree.js';
import { signDigest } from '../../src/index.js';

/** A signature and SBOM that pass the default policy, so a test isolates the gate it is about. */
export function cleanSupportingInputs(): { signature: Buffer; trustedKeys: string[]; sbom: Buffer } {
  const keys = keyPair('ed25519');
  return {
    signature: Buffer.from(signDigest(CLEAN_DIGEST, keys.privateKey)),
    trustedKeys: [keys.publicPem],
    sbom: Buffer.from(
      JSON.stringify({
        bomFormat: 'CycloneDX',
        specVersion: '1.5',
        version: 1,
        components: [{ type: 'library', name: 'fastify', version: '5.2.0', purl: 'pkg:npm/fastify@5.2.0', licenses: [{ license: { id: 'MIT' } }] }],
      }),
    ),
  };
}
