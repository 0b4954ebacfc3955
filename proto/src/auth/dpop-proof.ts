import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import { DEFAULT_CLOCK_SKEW_SECONDS, MAX_DPOP_AGE_SECONDS, TOKEN_TYP } from './constants.js';
import { AuthError } from './errors.js';
import { algForJwk, jwkThumbprint, parsePublicJwk, publicKeyFromJwk, type PublicJwk } from './jwk.js';
import { checkAlg, checkHeaderParams, checkTyp, parseCompactJws, signatureValid, signCompactJws, type JwsProfile } from './jws.js';

const PROFILE: JwsProfile = {
  what: 'DPoP proof',
  typ: TOKEN_TYP.dpop,
  codes: { malformed: 'AUTH_DPOP_INVALID', alg: 'AUTH_DPOP_INVALID', header: 'AUTH_DPOP_INVALID', typ: 'AUTH_DPOP_INVALID', signature: 'AUTH_DPOP_INVALID' },
};

/** `ath`: base64url SHA-256 of the access token the proof accompanies (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

export interface DpopProofInput {
  readonly privateKey: KeyObject;
  readonly publicJwk: PublicJwk;
  readonly htm: string;
  readonly htu: string;
  /** The access token presented with the proof (sets `ath`); absent at the token endpoint. */
  readonly accessToken?: string;
  /** Seconds since the epoch; defaults to now. */
  readonly now?: number;
}

/** A fresh DPoP proof: one per request, never reused (its jti is unique). */
export function createDpopProof(input: DpopProofInput): string {
  const claims: Record<string, unknown> = {
    jti: randomUUID(),
    htm: input.htm,
    htu: input.htu,
    iat: input.now ?? Math.floor(Date.now() / 1000),
  };
  if (input.accessToken !== undefined) claims.ath = accessTokenHash(input.accessToken);
  return signCompactJws({ typ: TOKEN_TYP.dpop, jwk: input.publicJwk }, claims, input.privateKey);
}

export interface DpopExpectation {
  readonly htm: string;
  /** Every htu this request may be proven for (the request URL under each accepted origin). */
  readonly htu: readonly string[];
  /** When set, the proof must carry `ath` of exactly this token. */
  readonly accessToken?: string;
  readonly now: number;
  readonly maxAgeSeconds?: number;
  readonly skewSeconds?: number;
}

export interface VerifiedDpopProof {
  readonly jwk: PublicJwk;
  /** RFC 7638 thumbprint of the proof's key. */
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
}

/** The htu as RFC 9449 §4.3 compares it: without query and fragment. */
function withoutQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

/**
 * Checks a DPoP proof completely except replay, which needs shared state: the caller records `jti`
 * (per key) in its replay cache after this returns.
 */
export function verifyDpopProof(proof: unknown, expect: DpopExpectation): VerifiedDpopProof {
  const parsed = parseCompactJws(proof, PROFILE);
  checkTyp(parsed.header, PROFILE);
  const alg = checkAlg(parsed.header, PROFILE);
  checkHeaderParams(parsed.header, PROFILE, ['jwk']);
  const jwk = parsePublicJwk(parsed.header.jwk, 'DPoP proof header jwk', 'AUTH_DPOP_INVALID');
  if (algForJwk(jwk) !== alg) throw new AuthError('AUTH_DPOP_INVALID', `DPoP proof: alg ${alg} does not fit its ${jwk.kty} key`);
  if (!signatureValid(parsed, alg, publicKeyFromJwk(jwk))) {
    throw new AuthError('AUTH_DPOP_INVALID', 'DPoP proof: the signature does not verify with the key in its header');
  }
  const { jti, htm, htu, iat, ath } = parsed.claims;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128) throw new AuthError('AUTH_DPOP_INVALID', 'DPoP proof: jti must be a string of 1 to 128 characters');
  if (typeof htm !== 'string' || typeof htu !== 'string') throw new AuthError('AUTH_DPOP_INVALID', 'DPoP proof: htm and htu must be strings');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new AuthError('AUTH_DPOP_INVALID', 'DPoP proof: iat must be a number of seconds');
  if (htm !== expect.htm) throw new AuthError('AUTH_DPOP_MISMATCH', `DPoP proof is for method ${htm}, this request is ${expect.htm}`);
  if (!expect.htu.includes(withoutQuery(htu))) {
    throw new AuthError('AUTH_DPOP_MISMATCH', `DPoP proof is for ${htu}, this request is ${expect.htu[0] ?? '(unknown)'}`);
  }
  const maxAge = Math.min(expect.maxAgeSeconds ?? MAX_DPOP_AGE_SECONDS, MAX_DPOP_AGE_SECONDS);
  const skew = expect.skewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  if (expect.now - iat > maxAge) throw new AuthError('AUTH_DPOP_STALE', `DPoP proof was made ${Math.round(expect.now - iat)} s ago; the limit is ${maxAge} s`);
  if (iat - expect.now > skew) throw new AuthError('AUTH_DPOP_STALE', `DPoP proof is dated ${Math.round(iat - expect.now)} s in the future; check the agent's clock`);
  if (expect.accessToken !== undefined && ath !== accessTokenHash(expect.accessToken)) {
    throw new AuthError('AUTH_DPOP_MISMATCH', `DPoP proof ${ath === undefined ? 'has no ath' : 'ath is for another access token'}; it must hash the token it accompanies`);
  }
  return { jwk, jkt: jwkThumbprint(jwk), jti, iat };
}
