import { CompactSign, compactVerify, importJWK, type JWK } from 'jose';
import { MedfedError } from '../errors/index.js';
import type { StatsResult } from './result.js';

/** The JWS `typ` of a signed statistics result: a site vouches for what it decrypted and published. */
export const STATS_RESULT_TYP = 'medfed-stats-result+jws';

/** Signs a result with the publishing site's node key (Ed25519 JWK with its kid). */
export async function signStatsResult(result: StatsResult, privateJwk: JWK & { kid?: string }): Promise<string> {
  const key = await importJWK(privateJwk, 'EdDSA');
  return new CompactSign(new TextEncoder().encode(JSON.stringify(result)))
    .setProtectedHeader({ alg: 'EdDSA', typ: STATS_RESULT_TYP, ...(privateJwk.kid ? { kid: privateJwk.kid } : {}) })
    .sign(key);
}

/** Verifies a result statement against the site's registered public key; refuses any other `typ`. */
export async function verifyStatsResult(jws: string, publicJwk: JWK): Promise<StatsResult> {
  try {
    const key = await importJWK(publicJwk, 'EdDSA');
    const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: ['EdDSA'] });
    if (protectedHeader.typ !== STATS_RESULT_TYP) throw new Error(`typ ${String(protectedHeader.typ)} is not ${STATS_RESULT_TYP}`);
    return JSON.parse(new TextDecoder().decode(payload)) as StatsResult;
  } catch (err) {
    throw new MedfedError('VALIDATION_FAILED', `the statistics result statement does not verify against the site's key: ${(err as Error).message}`);
  }
}
