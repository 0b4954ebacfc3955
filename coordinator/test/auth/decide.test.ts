import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PERSON_ROLES } from '@medfed/proto/auth/index';
import { decide } from '../../src/auth/policy/decide.js';
import { indexPolicy, POLICY, type Policy } from '../../src/auth/policy/policy.js';
import type { Principal } from '../../src/auth/principal.js';

const index = indexPolicy(POLICY);
const entry = (key: string) => index.get(key);

const who = (role: Principal['role'], site: string | null = null, kind: Principal['kind'] = role === 'node' ? 'node' : 'person'): Principal => ({
  kind, sub: `${role}-1`, role, site, sessionId: null, tokenId: null, expiresAt: null, keyThumbprint: null,
});

describe('the authorization policy (pure decisions)', () => {
  it('denies by default what it does not list', () => {
    const v = decide(undefined, 'GET /v1/secret', who('admin'));
    expect(v).toMatchObject({ effect: 'deny', rule: 'default-deny', code: 'AUTH_NO_POLICY' });
  });

  it('refuses a duplicate entry rather than letting one silently win', () => {
    const dup: Policy = { version: 9, entries: [POLICY.entries[0]!, POLICY.entries[0]!] };
    expect(() => indexPolicy(dup)).toThrow(/twice/);
  });

  it('needs a credential for every operation that is not open', () => {
    for (const e of POLICY.entries.filter((x) => x.access !== 'public')) {
      expect(decide(e, e.operation, null)).toMatchObject({ effect: 'deny', code: 'AUTH_CREDENTIAL_MISSING', rule: e.rule });
    }
  });

  it('gives admin routes to admins only (auditors may list keys)', () => {
    for (const role of [...PERSON_ROLES, 'node'] as const) {
      const create = decide(entry('rest POST /v1/admin/api-keys'), 'POST /v1/admin/api-keys', who(role, role === 'node' || role === 'clinician' || role === 'site-steward' ? 'site-a' : null));
      expect([role, create.effect]).toEqual([role, role === 'admin' ? 'allow' : 'deny']);
      if (role !== 'admin') expect(create.code).toBe('AUTH_ROLE_FORBIDDEN');
    }
    expect(decide(entry('rest GET /v1/admin/api-keys'), 'x', who('auditor')).effect).toBe('allow');
  });

  it('scopes a node to its own site on every agent method', () => {
    const agentMethods = POLICY.entries.filter((e) => e.transport === 'grpc' && e.access !== 'public');
    expect(agentMethods.length).toBeGreaterThanOrEqual(7);
    for (const e of agentMethods) {
      expect(decide(e, e.operation, who('node', 'site-a'), { sites: ['site-a'], match: 'all' }).effect).toBe('allow');
      expect(decide(e, e.operation, who('node', 'site-a'), { sites: ['site-b'], match: 'all' })).toMatchObject({ effect: 'deny', code: 'AUTH_SITE_SCOPE' });
      expect(decide(e, e.operation, who('researcher'))).toMatchObject({ effect: 'deny', code: 'AUTH_ROLE_FORBIDDEN' });
    }
  });

  it('lets the development anonymous node act for any site, and says so in the rule', () => {
    const e = entry('grpc /medfed.v1.Federation/PollTask')!;
    expect(decide(e, e.operation, who('node', null, 'anonymous-node'), { sites: ['site-z'], match: 'all' }))
      .toMatchObject({ effect: 'allow', rule: 'dev.anonymous-node' });
  });

  it('lets a site-bound person into a job only when their site takes part, without naming the participants', () => {
    const e = entry('rest GET /v1/jobs/:id')!;
    expect(decide(e, e.operation, who('clinician', 'site-a'), { sites: ['site-a', 'site-b'], match: 'among' }).effect).toBe('allow');
    const denied = decide(e, e.operation, who('clinician', 'site-c'), { sites: ['site-a', 'site-b'], match: 'among' });
    expect(denied).toMatchObject({ effect: 'deny', code: 'AUTH_SITE_SCOPE' });
    expect(denied.reason).not.toMatch(/site-a|site-b/);
    expect(decide(e, e.operation, who('clinician', 'site-a'), { sites: [], match: 'among' }).effect).toBe('deny'); // no such job
  });

  it('allows an own-site request exactly when every target is the caller\'s site (property)', () => {
    const e = entry('rest GET /v1/sites/:id')!;
    const site = fc.constantFrom('site-a', 'site-b', 'site-c');
    fc.assert(fc.property(site, fc.array(site, { maxLength: 3 }), (own, targets) => {
      const v = decide(e, e.operation, who('site-steward', own), { sites: targets, match: 'all' });
      expect(v.effect === 'allow').toBe(targets.length > 0 && targets.every((t) => t === own));
    }));
  });
});
