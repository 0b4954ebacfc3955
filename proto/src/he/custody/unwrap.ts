import { compactDecrypt, type KeyInput } from 'jose';
import { HeError } from '../errors.js';
import { paramSetDigest } from '../param-sets.js';
import { secretKeyId } from '../secret-key.js';
import { WRAPPED_KEY_TYP } from './ceremony.js';

export interface UnwrapExpectation {
  readonly siteId: string;
  readonly job: string;
  readonly epoch: number;
  /** The job's parameter set; the wrapped key must bind its digest. */
  readonly paramSetId: string;
  /** The key id from the public parameters, when known. */
  readonly keyId?: string;
}

export interface UnwrappedKey {
  /** SEAL serialisation of the secret key; zeroise (fill(0)) after importSecretKey / writeKeyFile. */
  readonly secretKey: Uint8Array;
  readonly keyId: string;
  readonly paramsDigest: string;
}

/**
 * Unwraps the job's HE secret key at a site with its X25519 private key. Refuses a JWE that does
 * not decrypt (another site's, or tampered: HE_KEY_UNWRAP_FAILED) and one bound to another job,
 * epoch, site or parameter set (HE_KEY_CONTEXT_MISMATCH).
 */
export async function unwrapSiteKey(jwe: string, privateKey: KeyInput, expected: UnwrapExpectation): Promise<UnwrappedKey> {
  let plaintext: Uint8Array;
  let header: Record<string, unknown>;
  try {
    const result = await compactDecrypt(jwe, privateKey, { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] });
    plaintext = result.plaintext;
    header = result.protectedHeader as Record<string, unknown>;
  } catch (err) {
    throw new HeError('HE_KEY_UNWRAP_FAILED', `the wrapped key for ${JSON.stringify(expected.siteId)} does not decrypt with this site's key-agreement key`, undefined, { cause: err });
  }
  const paramsDigest = paramSetDigest(expected.paramSetId);
  const mismatches = [
    ['typ', header.typ, WRAPPED_KEY_TYP], ['kid', header.kid, expected.siteId], ['job', header.job, expected.job],
    ['epoch', header.epoch, expected.epoch], ['paramSetId', header.paramSetId, expected.paramSetId], ['paramsDigest', header.paramsDigest, paramsDigest],
    ...(expected.keyId === undefined ? [] : [['keyId', header.keyId, expected.keyId]]),
  ].filter(([, actual, wanted]) => actual !== wanted);
  if (mismatches.length > 0) {
    plaintext.fill(0);
    throw new HeError('HE_KEY_CONTEXT_MISMATCH', `wrapped key is bound to ${mismatches.map(([name, actual, wanted]) => `${String(name)}=${JSON.stringify(actual)} (expected ${JSON.stringify(wanted)})`).join(', ')}`);
  }
  const keyId = secretKeyId(paramsDigest, plaintext);
  if (keyId !== header.keyId) {
    plaintext.fill(0);
    throw new HeError('HE_KEY_UNWRAP_FAILED', `the unwrapped key has id ${keyId}, not the announced ${JSON.stringify(header.keyId)}`);
  }
  return { secretKey: plaintext, keyId, paramsDigest };
}
