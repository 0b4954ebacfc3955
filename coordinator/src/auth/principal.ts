import type { Role } from '@medfed/proto/auth/index';

/** Who is calling, after authentication. */
export interface Principal {
  /** `node`: an agent with a key-bound token; `person`: a Bearer token from a login; `anonymous-node`: development only. */
  readonly kind: 'node' | 'person' | 'anonymous-node';
  /** The site id for nodes; `key:<id>` or `oidc:<issuer>#<sub>` for people. */
  readonly sub: string;
  readonly role: Role;
  /** The one site this principal acts for (nodes, site stewards, clinicians); null for the others. */
  readonly site: string | null;
  readonly sessionId: string | null;
  readonly tokenId: string | null;
  /** Token expiry in seconds since the epoch (null for anonymous). */
  readonly expiresAt: number | null;
  readonly keyThumbprint: string | null;
}

export function describePrincipal(p: Principal): { sub: string; role: string; site: string | null; kind: string } {
  return { sub: p.sub, role: p.role, site: p.site, kind: p.kind };
}
