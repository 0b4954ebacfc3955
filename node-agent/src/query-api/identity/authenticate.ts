import type { QueryApiConfig } from '../config.js';
import { QueryApiError } from '../errors.js';
import type { Caller } from './caller.js';
import { hospitalTokenVerifier, type HospitalTokenVerifier } from './hospital-jwt.js';
import { LocalUsers } from './local-users.js';

export type Authenticate = (authorization: string | undefined) => Promise<Caller>;

/**
 * `Authorization: Bearer mfq_...` is a local API key, any other bearer value a hospital JWT. The
 * two sources are the only ones: there is no path on which a coordinator credential is consulted.
 */
export async function authenticator(config: QueryApiConfig, stateDir: string): Promise<Authenticate> {
  const oidc: HospitalTokenVerifier | undefined = config.identity.oidc === undefined ? undefined : await hospitalTokenVerifier(config.identity.oidc);
  const users = config.identity.apiKeys ? new LocalUsers(stateDir) : undefined;
  if (oidc === undefined && users === undefined) {
    throw new QueryApiError('QUERY_API_CONFIG_INVALID', 'queryApi.identity configures no identity source (oidc, or apiKeys: true)');
  }
  return async (authorization) => {
    const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/.exec(authorization ?? '');
    if (!match) throw new QueryApiError('QUERY_AUTH_REQUIRED', 'send Authorization: Bearer <token or API key>');
    const credential = match[1]!;
    if (credential.startsWith('mfq_')) {
      if (users === undefined) throw new QueryApiError('QUERY_IDENTITY_UNCONFIGURED', 'local API keys are turned off at this site');
      return users.authenticate(credential);
    }
    if (oidc === undefined) throw new QueryApiError('QUERY_IDENTITY_UNCONFIGURED', 'this site accepts no identity-provider tokens, only local API keys');
    return oidc.verify(credential);
  };
}
