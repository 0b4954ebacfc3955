import { randomUUID } from 'node:crypto';
import {
  AuthError, checkAlg, checkHeaderParams, checkTyp, isPersonRole, MAX_ACCESS_TOKEN_SECONDS, NODE_ROLE, parseCompactJws,
  signatureValid, TOKEN_TYP, type JwsProfile, type Role,
} from '@medfed/proto/auth/index';
import type { TokenKeyRing } from '../../keys/key-ring.js';

/** The claims of a medfed access token (RFC 9068 profile). */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly role: Role;
  /** The site a site-bound principal acts for. */
  readonly site?: string;
  /** The session of a person's login. */
  readonly sid?: string;
  /** Key binding of a node token (RFC 9449 §6): the JWK thumbprint of the agent's key. */
  readonly cnf?: { readonly jkt: string };
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly claims: AccessTokenClaims;
}

const PROFILE: JwsProfile = {
  what: 'access token',
  typ: TOKEN_TYP.access,
  codes: {
    malformed: 'AUTH_MALFORMED', alg: 'AUTH_ALG_FORBIDDEN', header: 'AUTH_HEADER_FORBIDDEN',
    typ: 'AUTH_TYP_INVALID', signature: 'AUTH_SIGNATURE_INVALID',
  },
};

const KID = /^[A-Za-z0-9_-]{1,64}$/;

/** Signs an access token with the ring's active key; the lifetime never exceeds 15 minutes. */
export async function issueAccessToken(ring: TokenKeyRing, subject: {
  issuer: string; audience: string; sub: string; role: Role; site?: string | null; sid?: string | null; jkt?: string | null;
}, lifetimeSeconds: number, now = Math.floor(Date.now() / 1000)): Promise<IssuedToken> {
  const lifetime = Math.max(1, Math.min(Math.floor(lifetimeSeconds), MAX_ACCESS_TOKEN_SECONDS));
  const claims: AccessTokenClaims = {
    iss: subject.issuer, aud: subject.audience, sub: subject.sub, iat: now, exp: now + lifetime, jti: randomUUID(), role: subject.role,
    ...(subject.site ? { site: subject.site } : {}),
    ...(subject.sid ? { sid: subject.sid } : {}),
    ...(subject.jkt ? { cnf: { jkt: subject.jkt } } : {}),
  };
  const token = await ring.active().signer.sign(Buffer.from(JSON.stringify(claims)), { typ: TOKEN_TYP.access });
  return { token, expiresIn: lifetime, claims };
}

export interface AccessTokenExpectation {
  readonly issuer: string;
  readonly audience: string;
  readonly now: number;
  readonly skewSeconds: number;
}

const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Verifies an access token against this coordinator's own key ring. Each step refuses with its own code:
 * structure, algorithm, header parameters, typ, kid, signature, claims, lifetime, time.
 */
export function verifyAccessToken(token: unknown, ring: TokenKeyRing, expect: AccessTokenExpectation): AccessTokenClaims {
  const claims = verifyTokenSignatureAndClaims(token, ring, expect);
  checkTokenTime(claims, expect);
  return claims;
}

/** Everything but the clock: what stays true of a token for its whole life (while its key is published). */
export function verifyTokenSignatureAndClaims(token: unknown, ring: TokenKeyRing, expect: Omit<AccessTokenExpectation, 'now' | 'skewSeconds'>): AccessTokenClaims {
  const parsed = parseCompactJws(token, PROFILE);
  const alg = checkAlg(parsed.header, PROFILE);
  checkHeaderParams(parsed.header, PROFILE);
  checkTyp(parsed.header, PROFILE);
  const { kid } = parsed.header;
  if (typeof kid !== 'string' || !KID.test(kid)) {
    throw new AuthError('AUTH_KID_INVALID', `access token: kid ${JSON.stringify(kid) ?? 'missing'} is not a key identifier (1 to 64 characters of A-Z a-z 0-9 _ -)`);
  }
  const verifier = ring.verifier(kid);
  if (!verifier) throw new AuthError('AUTH_KID_UNKNOWN', `access token: kid ${kid} is not in this coordinator's key set (GET /.well-known/jwks.json)`);
  if (verifier.alg !== alg) throw new AuthError('AUTH_ALG_FORBIDDEN', `access token: alg ${alg} is not the algorithm of key ${kid} (${verifier.alg})`);
  if (!signatureValid(parsed, alg, verifier.key)) throw new AuthError('AUTH_SIGNATURE_INVALID', `access token: the signature does not verify with key ${kid}`);

  const c = parsed.claims;
  if (!isString(c.sub, 200) || !isString(c.jti, 128) || !isTime(c.iat) || !isTime(c.exp)) {
    throw new AuthError('AUTH_CLAIMS_INVALID', 'access token: sub, jti (strings) and iat, exp (integer seconds) are required');
  }
  const role = c.role;
  if (role !== NODE_ROLE && !isPersonRole(role)) throw new AuthError('AUTH_CLAIMS_INVALID', `access token: role ${JSON.stringify(role)} is not a medfed role`);
  const cnf = c.cnf as { jkt?: unknown } | undefined;
  if (cnf !== undefined && (typeof cnf !== 'object' || cnf === null || !isString(cnf.jkt, 64))) {
    throw new AuthError('AUTH_CLAIMS_INVALID', 'access token: cnf must be {"jkt": "<thumbprint>"}');
  }
  if ((role === NODE_ROLE) !== (cnf !== undefined)) {
    throw new AuthError('AUTH_CLAIMS_INVALID', 'access token: node tokens, and only they, are bound to a key (cnf.jkt)');
  }
  if (c.site !== undefined && !isString(c.site, 63)) throw new AuthError('AUTH_CLAIMS_INVALID', 'access token: site must be a site id');
  if (c.sid !== undefined && !isString(c.sid, 64)) throw new AuthError('AUTH_CLAIMS_INVALID', 'access token: sid must be a session id');
  if (c.exp - c.iat > MAX_ACCESS_TOKEN_SECONDS) {
    throw new AuthError('AUTH_CLAIMS_INVALID', `access token: lifetime ${c.exp - c.iat} s exceeds the ${MAX_ACCESS_TOKEN_SECONDS} s limit`);
  }
  if (c.nbf !== undefined && !isTime(c.nbf)) throw new AuthError('AUTH_CLAIMS_INVALID', 'access token: nbf must be integer seconds');
  if (c.iss !== expect.issuer) throw new AuthError('AUTH_ISSUER_INVALID', `access token: iss ${JSON.stringify(c.iss)} is not this coordinator (${expect.issuer})`);
  const audiences = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (!audiences.includes(expect.audience)) throw new AuthError('AUTH_AUDIENCE_INVALID', `access token: aud ${JSON.stringify(c.aud)} does not include ${expect.audience}`);
  return c as unknown as AccessTokenClaims;
}

/** exp and nbf/iat against the clock: checked on every use, also of a token whose signature was verified before. */
export function checkTokenTime(c: AccessTokenClaims & { nbf?: number }, expect: Pick<AccessTokenExpectation, 'now' | 'skewSeconds'>): void {
  if (expect.now >= c.exp + expect.skewSeconds) {
    throw new AuthError('AUTH_TOKEN_EXPIRED', `access token expired ${expect.now - c.exp} s ago; get a new one (POST /v1/auth/token, or IssueToken for agents)`);
  }
  const notBefore = c.nbf !== undefined ? Math.max(c.nbf, c.iat) : c.iat;
  if (notBefore > expect.now + expect.skewSeconds) {
    throw new AuthError('AUTH_TOKEN_NOT_YET_VALID', `access token is valid only from ${new Date(notBefore * 1000).toISOString()}; check the clocks`);
  }
}

/** The kid a token names (read without verifying anything), to re-check a cached token's key is still published. */
export function kidOf(token: string): string | undefined {
  try {
    const kid = (JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}
