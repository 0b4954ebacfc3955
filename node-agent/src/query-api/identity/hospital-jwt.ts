import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { QUERY_ROLES, type OidcConfig, type QueryRole } from '../config.js';
import { QueryApiError } from '../errors.js';
import type { Caller } from './caller.js';

type KeySet = ReturnType<typeof createLocalJWKSet> | ReturnType<typeof createRemoteJWKSet>;

/** Verifies tokens of the hospital's identity provider; nothing else is trusted. */
export interface HospitalTokenVerifier {
  verify(token: string): Promise<Caller>;
}

/**
 * Builds the verifier from the site's OIDC settings: the JWKS comes from a file the site keeps or
 * from the issuer's URL, the issuer and audience are fixed. A token whose issuer is anyone else
 * (the coordinator included) is refused before its signature is even looked at.
 */
export async function hospitalTokenVerifier(config: OidcConfig): Promise<HospitalTokenVerifier> {
  const keys = await keySet(config);
  return {
    async verify(token: string): Promise<Caller> {
      let unverified: JWTPayload;
      try {
        unverified = decodeJwt(token);
      } catch {
        throw new QueryApiError('QUERY_TOKEN_INVALID', 'the bearer token is not a JWT');
      }
      if (unverified.iss !== config.issuer) {
        throw new QueryApiError('QUERY_TOKEN_UNTRUSTED_ISSUER', `tokens of issuer ${JSON.stringify(unverified.iss ?? null)} are not accepted; only the hospital's identity provider is trusted`);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, { issuer: config.issuer, audience: config.audience, algorithms: config.algorithms }));
      } catch (error) {
        throw refusal(error);
      }
      const userId = payload[config.userClaim];
      if (typeof userId !== 'string' || userId.trim() === '' || userId.length > 256) {
        throw new QueryApiError('QUERY_TOKEN_INVALID', `the token has no user id in claim ${config.userClaim}`);
      }
      return { userId, role: roleOf(payload[config.roleClaim], config), method: 'oidc' };
    },
  };
}

function refusal(error: unknown): QueryApiError {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new QueryApiError('QUERY_TOKEN_UNTRUSTED_KEY', "the token's signature does not verify with the hospital identity provider's keys");
    case 'ERR_JWT_EXPIRED':
      return new QueryApiError('QUERY_TOKEN_INVALID', 'the token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return new QueryApiError('QUERY_TOKEN_INVALID', `the token's ${String((error as { claim?: unknown }).claim)} claim is not acceptable`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new QueryApiError('QUERY_TOKEN_INVALID', "the token's algorithm is not one the site allows");
    default:
      return new QueryApiError('QUERY_TOKEN_INVALID', 'the token could not be verified');
  }
}

function roleOf(claim: unknown, config: OidcConfig): QueryRole {
  const values = Array.isArray(claim) ? claim : [claim];
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const mapped = config.roleMap === undefined ? value : config.roleMap[value];
    if (mapped !== undefined && (QUERY_ROLES as readonly string[]).includes(mapped)) return mapped as QueryRole;
  }
  throw new QueryApiError('QUERY_ROLE_UNMAPPED', `claim ${config.roleClaim} holds no role this site maps to ${QUERY_ROLES.join(', ')}`);
}

async function keySet(config: OidcConfig): Promise<KeySet> {
  if ((config.jwksFile === undefined) === (config.jwksUrl === undefined)) {
    throw new QueryApiError('QUERY_API_CONFIG_INVALID', 'queryApi.identity.oidc needs exactly one of jwksFile and jwksUrl');
  }
  if (config.jwksUrl !== undefined) return createRemoteJWKSet(new URL(config.jwksUrl));
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(await readFile(config.jwksFile!, 'utf8')) as JSONWebKeySet;
    return createLocalJWKSet(jwks);
  } catch (error) {
    throw new QueryApiError('QUERY_API_CONFIG_INVALID', `queryApi.identity.oidc.jwksFile ${config.jwksFile}: not a readable JWKS (${(error as Error).message.split('\n')[0]})`);
  }
}
