import { randomUUID, type KeyObject } from 'node:crypto';
import { DEFAULT_CLOCK_SKEW_SECONDS, MAX_ASSERTION_SECONDS, TOKEN_TYP } from './constants.js';
import { AuthError } from './errors.js';
import { algForJwk, publicKeyFromJwk, type PublicJwk } from './jwk.js';
import { checkAlg, checkHeaderParams, checkTyp, parseCompactJws, signatureValid, signCompactJws, type JwsProfile, type ParsedJws } from './jws.js';

const PROFILE: JwsProfile = {
  what: 'client assertion',
  typ: TOKEN_TYP.assertion,
  codes: {
    malformed: 'AUTH_ASSERTION_INVALID', alg: 'AUTH_ASSERTION_INVALID', header: 'AUTH_ASSERTION_INVALID',
    typ: 'AUTH_ASSERTION_INVALID', signature: 'AUTH_ASSERTION_INVALID',
  },
};

export interface ClientAssertionInput {
  readonly privateKey: KeyObject;
  readonly siteId: string;
  /** The coordinator's issuer identifier (learned at enrollment). */
  readonly audience: string;
  /** The key's thumbprint, as `kid`. */
  readonly keyThumbprint: string;
  readonly lifetimeSeconds?: number;
  readonly now?: number;
}

/** An RFC 7523 client assertion: iss = sub = site, aud = coordinator, a unique jti, exp within 60 s. */
export function createClientAssertion(input: ClientAssertionInput): string {
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const lifetime = Math.min(input.lifetimeSeconds ?? 30, MAX_ASSERTION_SECONDS);
  return signCompactJws({ typ: TOKEN_TYP.assertion, kid: input.keyThumbprint }, {
    iss: input.siteId, sub: input.siteId, aud: input.audience, jti: randomUUID(), iat: now, exp: now + lifetime,
  }, input.privateKey);
}

export interface UnverifiedAssertion {
  readonly parsed: ParsedJws;
  readonly siteId: string;
}

/** Parses an assertion and checks its header, returning the site it claims to be (to look up the key). */
export function readClientAssertion(token: unknown): UnverifiedAssertion {
  const parsed = parseCompactJws(token, PROFILE);
  checkTyp(parsed.header, PROFILE);
  checkAlg(parsed.header, PROFILE);
  checkHeaderParams(parsed.header, PROFILE);
  const { iss, sub } = parsed.claims;
  if (typeof iss !== 'string' || iss.length === 0 || iss.length > 63) throw new AuthError('AUTH_ASSERTION_INVALID', 'client assertion: iss must be the site id');
  if (sub !== iss) throw new AuthError('AUTH_ASSERTION_INVALID', `client assertion: sub ${JSON.stringify(sub)} must equal iss ${JSON.stringify(iss)} (the site id)`);
  return { parsed, siteId: iss };
}

export interface AssertionExpectation {
  readonly audience: string;
  readonly now: number;
  readonly skewSeconds?: number;
}

/** Checks the signature with the site's enrolled key, then audience and lifetime. Returns jti and exp for the replay cache. */
export function verifyClientAssertion(assertion: UnverifiedAssertion, key: PublicJwk, expect: AssertionExpectation): { jti: string; exp: number } {
  const { parsed } = assertion;
  const alg = checkAlg(parsed.header, PROFILE);
  if (algForJwk(key) !== alg) throw new AuthError('AUTH_ASSERTION_INVALID', `client assertion: alg ${alg} does not fit the site's ${key.kty} key`);
  if (!signatureValid(parsed, alg, publicKeyFromJwk(key))) {
    throw new AuthError('AUTH_ASSERTION_INVALID', `client assertion: the signature does not verify with site ${assertion.siteId}'s enrolled key`);
  }
  const { aud, jti, iat, exp } = parsed.claims;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(expect.audience)) throw new AuthError('AUTH_ASSERTION_INVALID', `client assertion: aud ${JSON.stringify(aud)} is not ${expect.audience}`);
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128) throw new AuthError('AUTH_ASSERTION_INVALID', 'client assertion: jti must be a string of 1 to 128 characters');
  if (typeof exp !== 'number' || typeof iat !== 'number' || !Number.isFinite(exp) || !Number.isFinite(iat)) {
    throw new AuthError('AUTH_ASSERTION_INVALID', 'client assertion: iat and exp must be numbers of seconds');
  }
  const skew = expect.skewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  if (exp - iat > MAX_ASSERTION_SECONDS || exp - expect.now > MAX_ASSERTION_SECONDS + skew) {
    throw new AuthError('AUTH_ASSERTION_INVALID', `client assertion: it may be valid for ${MAX_ASSERTION_SECONDS} s at most (exp - iat is ${exp - iat} s)`);
  }
  if (expect.now >= exp + skew) throw new AuthError('AUTH_ASSERTION_INVALID', 'client assertion: it has expired');
  if (iat - expect.now > skew) throw new AuthError('AUTH_ASSERTION_INVALID', 'client assertion: iat is in the future; check the agent clock');
  return { jti, exp };
}
