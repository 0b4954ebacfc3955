import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { AUTH_ERRORS, accessTokenHash, createClientAssertion, jwkThumbprint, publicJwkOf, signCompactJws } from '@medfed/proto/auth/index';
import { rotateAgentKey } from '@medfed/node-agent/identity/index';
import { BACKENDS } from '../../coordinator/test/support/databases.js';
import {
  enrollNode, forgeJws, grpcMethodHtu, grpcSubmitHeader, grpcUnary, nowSeconds, personToken, proofFor, realSigningKey, rest,
  type EnrolledNode, type GrpcResult, type RestResult,
} from '../../coordinator/test/auth/support.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

/**
 * The forged and misused credential corpus: every case is refused with its own AUTH_* code, in the same
 * `{code, message}` body on REST and the same status + `medfed-code` trailer on gRPC, against a real
 * coordinator (real database, real keys) on loopback.
 */

type Transport = 'rest' | 'grpc';
interface Presentation { authorization?: string; dpop?: string }
interface Target { transport: Transport; htm: string; htu: string; site: string }
type Send = (p: Presentation) => Promise<string>;

interface TokenCase {
  readonly name: string;
  readonly code: string;
  /** Which site the request concerns (default site-a). */
  readonly site?: string;
  readonly transports?: readonly Transport[];
  readonly present: (target: Target, send: Send) => Promise<Presentation>;
}

function expectRestShape(r: RestResult, code: string): void {
  expect(Object.keys(r.body).sort()).toEqual(['code', 'message']);
  expect(r.body.code).toBe(code);
  expect(typeof r.body.message).toBe('string');
  expect((r.body.message as string).length).toBeGreaterThan(10);
  expect(r.status).toBe(AUTH_ERRORS[code as keyof typeof AUTH_ERRORS].http);
}

function expectGrpcShape(r: GrpcResult, code: string): void {
  expect(r.code).toBe(code);
  expect(r.status).toBe(AUTH_ERRORS[code as keyof typeof AUTH_ERRORS].grpc);
  expect(r.details.startsWith(`${code}: `)).toBe(true);
}

describe.each(BACKENDS)('forged and misused credentials on %s', (backend) => {
  let t: TestCoordinator;
  let A: EnrolledNode;
  let B: EnrolledNode;
  let real: Awaited<ReturnType<typeof realSigningKey>>;
  let tokA: string;
  let tokS: string;
  let tokR: string;
  let keyR: EnrolledNode['key'];
  let keyS: EnrolledNode['key'];
  let researcher: string;
  let nodes: EnrolledNode[] = [];
  const attacker = generateKeyPairSync('ed25519').privateKey;
  const attackerJwk = publicJwkOf(attacker);

  beforeAll(async () => {
    t = await startTestCoordinator(backend, { 'auth.allowAnonymousNodes': false });
    const c = t.coordinator;
    for (const s of ['site-a', 'site-b', 'site-s', 'site-r', 'site-u', 'site-e']) await c.engine.registerSite(s, s);
    A = await enrollNode(c, 'site-a');
    B = await enrollNode(c, 'site-b');
    const S = await enrollNode(c, 'site-s');
    const R = await enrollNode(c, 'site-r');
    real = await realSigningKey(c, t.dataDir);
    tokA = await A.token();
    tokS = await S.token();
    tokR = await R.token();
    keyR = R.key;
    keyS = S.key;
    await c.auth.setSiteSuspended('site-s', true);
    await rotateAgentKey(R.client.credentials!, R.identity, R.stateDir, (req, md) => R.client.rotateKey(req, md));
    researcher = (await personToken(c, 'researcher')).token;
    nodes = [A, B, S, R];
  });
  afterAll(async () => {
    for (const n of nodes) n.client.close();
    await t.stop();
  });

  const claims = (over: Record<string, unknown> = {}) => {
    const now = nowSeconds();
    return {
      iss: t.coordinator.auth.settings.issuer, aud: t.coordinator.auth.settings.audience, sub: 'site-a', role: 'node', site: 'site-a',
      cnf: { jkt: A.key.jkt }, iat: now, exp: now + 300, jti: randomUUID(), ...over,
    };
  };
  const header = (over: Record<string, unknown> = {}) => ({ alg: 'EdDSA', typ: 'at+jwt', kid: real.kid, ...over });
  /** Signed with the coordinator's real signing key: only the field under test is wrong. */
  const signed = (h: Record<string, unknown> = {}, c: Record<string, unknown> = {}) => forgeJws(header(h), claims(c), { key: real.privateKey });
  /** `DPoP <token>` with a valid proof by site-a's key for this exact request. */
  const asNode = (token: string, key = () => A.key) => async (target: Target): Promise<Presentation> =>
    ({ authorization: `DPoP ${token}`, dpop: proofFor(key(), target.htm, target.htu, token) });
  const forged = (make: () => string) => async (target: Target) => asNode(make())(target);

  const cases: TokenCase[] = [
    { name: 'a valid node token (control)', code: 'OK', present: async (tg) => asNode(tokA)(tg) },
    // ---- the algorithm ----
    { name: 'alg none', code: 'AUTH_ALG_FORBIDDEN', present: forged(() => forgeJws(header({ alg: 'none' }), claims(), { signature: '' })) },
    { name: 'alg None', code: 'AUTH_ALG_FORBIDDEN', present: forged(() => forgeJws(header({ alg: 'None' }), claims(), { signature: '' })) },
    { name: 'alg NONE', code: 'AUTH_ALG_FORBIDDEN', present: forged(() => forgeJws(header({ alg: 'NONE' }), claims(), { signature: '' })) },
    { name: 'alg none with a signature kept', code: 'AUTH_ALG_FORBIDDEN', present: forged(() => `${signed().split('.').slice(0, 2).join('.').replace(/^[^.]+/, Buffer.from(JSON.stringify(header({ alg: 'none' }))).toString('base64url'))}.${signed().split('.')[2]}`) },
    { name: 'HS256 keyed with our public key (PEM)', code: 'AUTH_ALG_FORBIDDEN', present: forged(() => forgeJws(header({ alg: 'HS256' }), claims(), { hmac: real.publicPem })) },
    { name: 'HS256 keyed with our public key (JWK)', code: 'AUTH_ALG_FORBIDDEN', present: forged(() => forgeJws(header({ alg: 'HS256' }), claims(), { hmac: JSON.stringify({ ...real.publicJwk, kid: real.kid }) })) },
    { name: 'HS256 keyed with the raw public key bytes', code: 'AUTH_ALG_FORBIDDEN', present: forged(() => forgeJws(header({ alg: 'HS256' }), claims(), { hmac: Buffer.from((real.publicJwk as { x: string }).x, 'base64url') })) },
    { name: 'RS256 claimed', code: 'AUTH_ALG_FORBIDDEN', present: forged(() => forgeJws(header({ alg: 'RS256' }), claims(), { key: real.privateKey })) },
    { name: 'ES256 claimed for our Ed25519 key', code: 'AUTH_ALG_FORBIDDEN', present: forged(() => forgeJws(header({ alg: 'ES256' }), claims(), { key: real.privateKey })) },
    // ---- the key id ----
    { name: 'an unknown kid', code: 'AUTH_KID_UNKNOWN', present: forged(() => signed({ kid: 'k'.repeat(43) })) },
    { name: 'a path-traversal kid', code: 'AUTH_KID_INVALID', present: forged(() => signed({ kid: '../../keys/token-signing/../../../etc/passwd' })) },
    { name: 'an SQL-injection kid', code: 'AUTH_KID_INVALID', present: forged(() => signed({ kid: "x' OR '1'='1" })) },
    { name: 'a numeric kid', code: 'AUTH_KID_INVALID', present: forged(() => signed({ kid: 42 })) },
    { name: 'an object kid', code: 'AUTH_KID_INVALID', present: forged(() => signed({ kid: { $ne: null } })) },
    { name: 'no kid', code: 'AUTH_KID_INVALID', present: forged(() => signed({ kid: undefined })) },
    // ---- headers that choose their own key ----
    { name: 'a jku header', code: 'AUTH_HEADER_FORBIDDEN', present: forged(() => signed({ jku: 'https://attacker.example/jwks.json' })) },
    { name: 'an x5u header', code: 'AUTH_HEADER_FORBIDDEN', present: forged(() => signed({ x5u: 'https://attacker.example/cert.pem' })) },
    { name: 'an embedded jwk (the attacker\'s key)', code: 'AUTH_HEADER_FORBIDDEN', present: forged(() => forgeJws(header({ jwk: attackerJwk }), claims(), { key: attacker })) },
    { name: 'an x5c header', code: 'AUTH_HEADER_FORBIDDEN', present: forged(() => signed({ x5c: ['MIIB'] })) },
    { name: 'a crit header', code: 'AUTH_HEADER_FORBIDDEN', present: forged(() => signed({ crit: ['exp'] })) },
    // ---- the signature ----
    { name: 'an empty signature', code: 'AUTH_SIGNATURE_INVALID', present: forged(() => `${signed().split('.').slice(0, 2).join('.')}.`) },
    { name: 'a truncated signature', code: 'AUTH_SIGNATURE_INVALID', present: forged(() => signed().slice(0, -20)) },
    { name: 'a signature by another key under our kid', code: 'AUTH_SIGNATURE_INVALID', present: forged(() => forgeJws(header(), claims(), { key: attacker })) },
    { name: 'claims changed after signing', code: 'AUTH_SIGNATURE_INVALID', present: forged(() => { const [h, , s] = signed().split('.'); return `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'site-b', site: 'site-b' }))).toString('base64url')}.${s}`; }) },
    // ---- time, issuer, audience, type ----
    { name: 'an expired token', code: 'AUTH_TOKEN_EXPIRED', present: forged(() => signed({}, { iat: nowSeconds() - 900, exp: nowSeconds() - 60 })) },
    { name: 'a token not yet valid (iat ahead)', code: 'AUTH_TOKEN_NOT_YET_VALID', present: forged(() => signed({}, { iat: nowSeconds() + 600, exp: nowSeconds() + 900 })) },
    { name: 'a token not yet valid (nbf ahead)', code: 'AUTH_TOKEN_NOT_YET_VALID', present: forged(() => signed({}, { nbf: nowSeconds() + 120 })) },
    { name: 'another audience', code: 'AUTH_AUDIENCE_INVALID', present: forged(() => signed({}, { aud: 'https://other-service.example' })) },
    { name: 'another issuer', code: 'AUTH_ISSUER_INVALID', present: forged(() => signed({}, { iss: 'https://attacker.example' })) },
    { name: 'no typ', code: 'AUTH_TYP_INVALID', present: forged(() => signed({ typ: undefined })) },
    { name: 'typ JWT', code: 'AUTH_TYP_INVALID', present: forged(() => signed({ typ: 'JWT' })) },
    { name: 'a model manifest (signed by our key) presented as a token', code: 'AUTH_TYP_INVALID', present: forged(() => signed({ typ: 'medfed-manifest+jws' })) },
    { name: 'an attestation presented as a token', code: 'AUTH_TYP_INVALID', present: forged(() => signed({ typ: 'medfed-attestation+jwt' })) },
    { name: 'a client assertion presented as a token', code: 'AUTH_TYP_INVALID',
      present: forged(() => createClientAssertion({ privateKey: A.key.privateKey, siteId: 'site-a', audience: t.coordinator.auth.settings.issuer, keyThumbprint: A.key.jkt })) },
    { name: 'a DPoP proof presented as a token', code: 'AUTH_HEADER_FORBIDDEN', present: forged(() => proofFor(A.key, 'POST', 'https://x/y')) },
    // ---- claims ----
    { name: 'a lifetime of an hour', code: 'AUTH_CLAIMS_INVALID', present: forged(() => signed({}, { exp: nowSeconds() + 3600 })) },
    { name: 'no jti', code: 'AUTH_CLAIMS_INVALID', present: forged(() => signed({}, { jti: undefined })) },
    { name: 'an invented role', code: 'AUTH_CLAIMS_INVALID', present: forged(() => signed({}, { role: 'superuser' })) },
    { name: 'a node role without key binding', code: 'AUTH_CLAIMS_INVALID', present: forged(() => signed({}, { cnf: undefined })) },
    // ---- structure ----
    { name: 'two parts', code: 'AUTH_MALFORMED', present: forged(() => signed().split('.').slice(0, 2).join('.')) },
    { name: 'garbage', code: 'AUTH_MALFORMED', present: forged(() => 'not-a-token') },
    { name: 'a header that is not JSON', code: 'AUTH_MALFORMED', present: forged(() => `${Buffer.from('{"alg":').toString('base64url')}.e30.AAAA`) },
    { name: 'a 9 KiB token', code: 'AUTH_MALFORMED', present: forged(() => signed({}, { pad: 'x'.repeat(9000) })) },
    // ---- scheme ----
    { name: 'no credential', code: 'AUTH_CREDENTIAL_MISSING', present: async () => ({}) },
    { name: 'the Basic scheme', code: 'AUTH_SCHEME_INVALID', present: async () => ({ authorization: 'Basic c2l0ZS1hOnBhc3N3b3Jk' }) },
    { name: 'a key-bound token presented as Bearer', code: 'AUTH_SCHEME_INVALID', present: async () => ({ authorization: `Bearer ${tokA}` }) },
    // ---- the DPoP proof ----
    { name: 'no DPoP proof', code: 'AUTH_DPOP_MISSING', present: async () => ({ authorization: `DPoP ${tokA}` }) },
    { name: 'a replayed DPoP proof', code: 'AUTH_DPOP_REPLAYED', present: async (tg, send) => {
      const p = await asNode(tokA)(tg);
      expect(await send(p)).toBe('OK');
      return p;
    } },
    { name: 'a DPoP proof for another method', code: 'AUTH_DPOP_MISMATCH', present: async (tg) => ({ authorization: `DPoP ${tokA}`, dpop: proofFor(A.key, tg.htm === 'GET' ? 'DELETE' : 'GET', tg.htu, tokA) }) },
    { name: 'a DPoP proof for another URL', code: 'AUTH_DPOP_MISMATCH', present: async (tg) => ({ authorization: `DPoP ${tokA}`, dpop: proofFor(A.key, tg.htm, tg.htu.replace(/[^/]+$/, 'ReportMetrics'), tokA) }) },
    { name: 'a DPoP proof for another coordinator', code: 'AUTH_DPOP_MISMATCH', present: async (tg) => ({ authorization: `DPoP ${tokA}`, dpop: proofFor(A.key, tg.htm, tg.htu.replace(/\/\/[^/]+/, '//coordinator.attacker.example:443'), tokA) }) },
    { name: 'a DPoP proof older than 60 s', code: 'AUTH_DPOP_STALE', present: async (tg) => ({ authorization: `DPoP ${tokA}`, dpop: proofFor(A.key, tg.htm, tg.htu, tokA, nowSeconds() - 61) }) },
    { name: 'a DPoP proof without ath', code: 'AUTH_DPOP_MISMATCH', present: async (tg) => ({ authorization: `DPoP ${tokA}`, dpop: proofFor(A.key, tg.htm, tg.htu) }) },
    { name: 'a DPoP proof for another access token', code: 'AUTH_DPOP_MISMATCH', present: async (tg) => ({ authorization: `DPoP ${tokA}`, dpop: proofFor(A.key, tg.htm, tg.htu, 'another-token') }) },
    { name: 'a DPoP proof by another key (stolen token)', code: 'AUTH_DPOP_KEY_MISMATCH', present: async (tg) => ({ authorization: `DPoP ${tokA}`, dpop: proofFor(B.key, tg.htm, tg.htu, tokA) }) },
    { name: 'a DPoP proof with alg none', code: 'AUTH_DPOP_INVALID', present: async (tg) => ({
      authorization: `DPoP ${tokA}`,
      dpop: forgeJws({ typ: 'dpop+jwt', alg: 'none', jwk: A.key.publicJwk }, { jti: randomUUID(), htm: tg.htm, htu: tg.htu, iat: nowSeconds(), ath: accessTokenHash(tokA) }, { signature: '' }),
    }) },
    { name: 'a DPoP proof carrying the private key', code: 'AUTH_DPOP_INVALID', present: async (tg) => ({
      authorization: `DPoP ${tokA}`,
      dpop: signCompactJws({ typ: 'dpop+jwt', jwk: { ...A.key.publicJwk, d: A.key.privateKey.export({ format: 'jwk' }).d } },
        { jti: randomUUID(), htm: tg.htm, htu: tg.htu, iat: nowSeconds(), ath: accessTokenHash(tokA) }, A.key.privateKey),
    }) },
    // ---- standing of the site and its key ----
    { name: 'a token of a suspended site', code: 'AUTH_SITE_SUSPENDED', site: 'site-s', present: async (tg) => ({ authorization: `DPoP ${tokS}`, dpop: proofFor(keyS, tg.htm, tg.htu, tokS) }) },
    { name: 'a token bound to a rotated-out key', code: 'AUTH_KEY_REVOKED', site: 'site-r', present: async (tg) => ({ authorization: `DPoP ${tokR}`, dpop: proofFor(keyR, tg.htm, tg.htu, tokR) }) },
    // ---- scope ----
    { name: 'site A\'s token acting for site B', code: 'AUTH_SITE_SCOPE', site: 'site-b', present: async (tg) => asNode(tokA)(tg) },
    { name: 'a researcher\'s token on an agent method', code: 'AUTH_ROLE_FORBIDDEN', transports: ['grpc'], present: async () => ({ authorization: `Bearer ${researcher}` }) },
  ];

  const sendRest = (site: string): Send => async (p) => {
    const r = await rest(t.coordinator, 'GET', `/v1/sites/${site}`, {
      headers: { ...(p.authorization ? { authorization: p.authorization } : {}), ...(p.dpop ? { dpop: p.dpop } : {}) },
    });
    return r.status === 200 ? 'OK' : String(r.body.code);
  };
  const sendGrpc = (site: string): Send => async (p) => (await grpcUnary(t.coordinator, 'pollTask', { siteId: site, waitMs: 0 }, {
    ...(p.authorization ? { authorization: p.authorization } : {}), ...(p.dpop ? { dpop: p.dpop } : {}),
  })).code;

  it('holds at least 40 distinct forgeries', () => {
    expect(cases.filter((c) => c.code !== 'OK').length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(['rest', 'grpc'] as const)('refuses every forgery over %s with its specific code and the one error shape', async (transport) => {
    const outcomes: [string, string][] = [];
    for (const c of cases) {
      if (c.transports && !c.transports.includes(transport)) continue;
      const site = c.site ?? 'site-a';
      const target: Target = transport === 'rest'
        ? { transport, htm: 'GET', htu: `${t.coordinator.rest}/v1/sites/${site}`, site }
        : { transport, htm: 'POST', htu: grpcMethodHtu(t.coordinator, 'PollTask'), site };
      const send = transport === 'rest' ? sendRest(site) : sendGrpc(site);
      const p = await c.present(target, send);
      const headers = { ...(p.authorization ? { authorization: p.authorization } : {}), ...(p.dpop ? { dpop: p.dpop } : {}) };
      if (transport === 'rest') {
        const r = await rest(t.coordinator, 'GET', `/v1/sites/${site}`, { headers });
        if (c.code === 'OK') expect(r.status).toBe(200);
        else expectRestShape(r, c.code);
        outcomes.push([c.name, r.status === 200 ? 'OK' : String(r.body.code)]);
      } else {
        const r = await grpcUnary(t.coordinator, 'pollTask', { siteId: site, waitMs: 0 }, headers);
        if (c.code !== 'OK') expectGrpcShape(r, c.code);
        outcomes.push([c.name, r.code]);
      }
    }
    expect(outcomes).toEqual(cases.filter((c) => !c.transports || c.transports.includes(transport)).map((c) => [c.name, c.code]));
  });

  it('refuses site A\'s token on site B\'s submission stream before any byte is stored', async () => {
    const token = await A.token();
    const r = await grpcSubmitHeader(t.coordinator, { authorization: `DPoP ${token}`, dpop: proofFor(A.key, 'POST', grpcMethodHtu(t.coordinator, 'SubmitUpdate'), token) }, { siteId: 'site-b' });
    expectGrpcShape(r, 'AUTH_SITE_SCOPE');
    const { rows } = await t.coordinator.db.query(`SELECT * FROM contributions WHERE site_id = 'site-b'`);
    expect(rows).toHaveLength(0);
  });

  describe('at the token endpoint (client assertion + DPoP), over both transports', () => {
    const issuer = () => t.coordinator.auth.settings.issuer;
    const assertion = (over: Record<string, unknown> = {}, key = A.key.privateKey) => {
      const now = nowSeconds();
      return forgeJws({ alg: 'EdDSA', typ: 'client-authentication+jwt', kid: A.key.jkt },
        { iss: 'site-a', sub: 'site-a', aud: issuer(), jti: randomUUID(), iat: now, exp: now + 30, ...over }, { key });
    };
    interface EndpointCase { name: string; code: string; make: (htu: string) => { assertion: string; dpop?: string } }
    const endpointCases: EndpointCase[] = [
      { name: 'a valid assertion (control)', code: 'OK', make: (htu) => ({ assertion: assertion(), dpop: proofFor(A.key, 'POST', htu) }) },
      { name: 'an assertion valid for an hour', code: 'AUTH_ASSERTION_INVALID', make: (htu) => ({ assertion: assertion({ exp: nowSeconds() + 3600 }), dpop: proofFor(A.key, 'POST', htu) }) },
      { name: 'an expired assertion', code: 'AUTH_ASSERTION_INVALID', make: (htu) => ({ assertion: assertion({ iat: nowSeconds() - 120, exp: nowSeconds() - 70 }), dpop: proofFor(A.key, 'POST', htu) }) },
      { name: 'an assertion for another audience', code: 'AUTH_ASSERTION_INVALID', make: (htu) => ({ assertion: assertion({ aud: 'https://other.example' }), dpop: proofFor(A.key, 'POST', htu) }) },
      { name: 'an assertion signed by another key', code: 'AUTH_ASSERTION_INVALID', make: (htu) => ({ assertion: assertion({}, attacker), dpop: proofFor(A.key, 'POST', htu) }) },
      { name: 'an unsigned assertion', code: 'AUTH_ASSERTION_INVALID', make: (htu) => ({ assertion: forgeJws({ alg: 'none', typ: 'client-authentication+jwt' }, { iss: 'site-a', sub: 'site-a', aud: issuer(), jti: 'x', iat: nowSeconds(), exp: nowSeconds() + 30 }, { signature: '' }), dpop: proofFor(A.key, 'POST', htu) }) },
      { name: 'an assertion with iss != sub', code: 'AUTH_ASSERTION_INVALID', make: (htu) => ({ assertion: assertion({ sub: 'site-b' }), dpop: proofFor(A.key, 'POST', htu) }) },
      { name: 'an access token presented as an assertion', code: 'AUTH_ASSERTION_INVALID', make: (htu) => ({ assertion: tokA, dpop: proofFor(A.key, 'POST', htu) }) },
      { name: 'an assertion for a site that never enrolled', code: 'AUTH_SITE_NOT_ENROLLED', make: (htu) => ({ assertion: assertion({ iss: 'site-u', sub: 'site-u' }), dpop: proofFor(A.key, 'POST', htu) }) },
      { name: 'no DPoP proof', code: 'AUTH_DPOP_MISSING', make: () => ({ assertion: assertion() }) },
      { name: 'a DPoP proof by another key', code: 'AUTH_DPOP_KEY_MISMATCH', make: (htu) => ({ assertion: assertion(), dpop: proofFor(B.key, 'POST', htu) }) },
      { name: 'a DPoP proof for another URL', code: 'AUTH_DPOP_MISMATCH', make: (htu) => ({ assertion: assertion(), dpop: proofFor(A.key, 'POST', `${htu}x`) }) },
      { name: 'a DPoP proof older than 60 s', code: 'AUTH_DPOP_STALE', make: (htu) => ({ assertion: assertion(), dpop: proofFor(A.key, 'POST', htu, undefined, nowSeconds() - 90) }) },
    ];

    it.each(['rest', 'grpc'] as const)('over %s', async (transport) => {
      const outcomes: [string, string][] = [];
      const htu = transport === 'rest' ? `${t.coordinator.rest}/v1/auth/token` : grpcMethodHtu(t.coordinator, 'IssueToken');
      const call = async (a: { assertion: string; dpop?: string }): Promise<string> => {
        if (transport === 'rest') {
          const r = await rest(t.coordinator, 'POST', '/v1/auth/token', { body: { assertion: a.assertion }, headers: a.dpop ? { dpop: a.dpop } : {} });
          if (r.status === 200) {
            expect(r.body.token_type).toBe('DPoP');
            return 'OK';
          }
          expectRestShape(r, String(r.body.code));
          return String(r.body.code);
        }
        const r = await grpcUnary(t.coordinator, 'issueToken', { clientAssertion: a.assertion }, a.dpop ? { dpop: a.dpop } : {});
        if (r.code !== 'OK') expectGrpcShape(r, r.code);
        return r.code;
      };
      for (const c of endpointCases) outcomes.push([c.name, await call(c.make(htu))]);
      // A replayed assertion (with a fresh proof) is refused.
      const once = assertion();
      expect(await call({ assertion: once, dpop: proofFor(A.key, 'POST', htu) })).toBe('OK');
      outcomes.push(['a replayed assertion', await call({ assertion: once, dpop: proofFor(A.key, 'POST', htu) })]);
      expect(outcomes).toEqual([...endpointCases.map((c) => [c.name, c.code]), ['a replayed assertion', 'AUTH_ASSERTION_REPLAYED']]);
    });
  });

  describe('people and enrollment codes', () => {
    it('refuses misused API keys, sessions and roles with their codes and the one body shape', async () => {
      const c = t.coordinator;
      const outcomes: [string, string][] = [];
      const token = async (body: unknown) => rest(c, 'POST', '/v1/auth/token', { body });
      const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });

      const unknown = `mfk_${'a'.repeat(16)}_${'b'.repeat(43)}`;
      outcomes.push(['an unknown API key', String((await token({ api_key: unknown })).body.code)]);
      const real1 = await c.auth.createApiKey({ name: 'wrong secret', role: 'auditor', createdBy: 'test' });
      outcomes.push(['an API key with a wrong secret', String((await token({ api_key: `${real1.key.slice(0, -4)}AAAA` })).body.code)]);
      const revoked = await personToken(c, 'auditor');
      await c.auth.revokeApiKey(revoked.keyId);
      outcomes.push(['a revoked API key', String((await token({ api_key: revoked.apiKey })).body.code)]);
      outcomes.push(['the token of a revoked key\'s session', String((await rest(c, 'GET', '/v1/auth/whoami', { headers: bearer(revoked.token) })).body.code)]);
      const expired = await c.auth.createApiKey({ name: 'expired', role: 'auditor', createdBy: 'test' });
      await c.db.query(`UPDATE auth_api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id]);
      outcomes.push(['an expired API key', String((await token({ api_key: expired.key })).body.code)]);
      const idle = await personToken(c, 'auditor');
      await c.db.query(`UPDATE auth_sessions SET last_activity_at = now() - interval '16 minutes' WHERE api_key_id = $1`, [idle.keyId]);
      outcomes.push(['a session idle for 16 minutes', String((await rest(c, 'GET', '/v1/auth/whoami', { headers: bearer(idle.token) })).body.code)]);
      outcomes.push(['a refresh of that idle session', String((await rest(c, 'POST', '/v1/auth/token', { body: { refresh: true }, headers: bearer(idle.token) })).body.code)]);
      outcomes.push(['a researcher creating an API key', String((await rest(c, 'POST', '/v1/admin/api-keys', { headers: bearer(researcher), body: { name: 'x', role: 'admin' } })).body.code)]);
      outcomes.push(['a researcher registering a site', String((await rest(c, 'POST', '/v1/sites', { headers: bearer(researcher), body: { id: 'site-z' } })).body.code)]);
      outcomes.push(['a researcher rotating signing keys', String((await rest(c, 'POST', '/v1/admin/signing-keys/rotate', { headers: bearer(researcher) })).body.code)]);
      const clinician = (await personToken(c, 'clinician', 'site-a')).token;
      outcomes.push(['a clinician of site-a reading site-b', String((await rest(c, 'GET', '/v1/sites/site-b', { headers: bearer(clinician) })).body.code)]);
      outcomes.push(['a clinician suspending their own site', String((await rest(c, 'POST', '/v1/sites/site-a/suspend', { headers: bearer(clinician) })).body.code)]);
      const auditor = (await personToken(c, 'auditor')).token;
      outcomes.push(['an auditor creating a job', String((await rest(c, 'POST', '/v1/jobs', { headers: bearer(auditor), body: { spec: {} } })).body.code)]);
      outcomes.push(['a node token on an admin route', String((await rest(c, 'GET', '/v1/admin/api-keys', {
        headers: { authorization: `DPoP ${tokA}`, dpop: proofFor(A.key, 'GET', `${c.rest}/v1/admin/api-keys`, tokA) },
      })).body.code)]);
      outcomes.push(['a token endpoint call with two grants', String((await token({ api_key: unknown, assertion: 'x' })).body.code)]);

      expect(outcomes).toEqual([
        ['an unknown API key', 'AUTH_API_KEY_INVALID'],
        ['an API key with a wrong secret', 'AUTH_API_KEY_INVALID'],
        ['a revoked API key', 'AUTH_API_KEY_REVOKED'],
        ['the token of a revoked key\'s session', 'AUTH_SESSION_ENDED'],
        ['an expired API key', 'AUTH_API_KEY_EXPIRED'],
        ['a session idle for 16 minutes', 'AUTH_SESSION_IDLE'],
        ['a refresh of that idle session', 'AUTH_SESSION_IDLE'],
        ['a researcher creating an API key', 'AUTH_ROLE_FORBIDDEN'],
        ['a researcher registering a site', 'AUTH_ROLE_FORBIDDEN'],
        ['a researcher rotating signing keys', 'AUTH_ROLE_FORBIDDEN'],
        ['a clinician of site-a reading site-b', 'AUTH_SITE_SCOPE'],
        ['a clinician suspending their own site', 'AUTH_ROLE_FORBIDDEN'],
        ['an auditor creating a job', 'AUTH_ROLE_FORBIDDEN'],
        ['a node token on an admin route', 'AUTH_ROLE_FORBIDDEN'],
        ['a token endpoint call with two grants', 'AUTH_REQUEST_INVALID'],
      ]);
    });

    it('refuses misused enrollment codes', async () => {
      const c = t.coordinator;
      const key = generateKeyPairSync('ed25519').privateKey;
      const jwk = publicJwkOf(key);
      const enroll = (siteId: string, code: string) => grpcUnary(c, 'enrollKey', { siteId, enrollmentCode: code, agentVersion: 't' }, {
        dpop: proofFor({ privateKey: key, publicJwk: jwk, jkt: jwkThumbprint(jwk) }, 'POST', grpcMethodHtu(c, 'EnrollKey')),
      });
      const { code } = await c.auth.createEnrollmentCode('site-e', 'test');
      const forB = await c.auth.createEnrollmentCode('site-b', 'test');
      const stale = await c.auth.createEnrollmentCode('site-e', 'test');
      await c.db.query(`UPDATE auth_enrollment_codes SET expires_at = now() - interval '1 second' WHERE code_hash = $1`,
        [createHash('sha256').update(stale.code.replace(/-/g, '')).digest('hex')]);
      const results: [string, string][] = [
        ['an unknown code', (await enroll('site-e', 'AAAA-BBBB-CCCC-DDDD-EEEE')).code],
        ['another site\'s code', (await enroll('site-e', forB.code)).code],
        ['an expired code', (await enroll('site-e', stale.code)).code],
        ['a valid code (control)', (await enroll('site-e', code)).code],
      ];
      const key2 = generateKeyPairSync('ed25519').privateKey;
      const jwk2 = publicJwkOf(key2);
      results.push(['a used code', (await grpcUnary(c, 'enrollKey', { siteId: 'site-e', enrollmentCode: code, agentVersion: 't' }, {
        dpop: proofFor({ privateKey: key2, publicJwk: jwk2, jkt: jwkThumbprint(jwk2) }, 'POST', grpcMethodHtu(c, 'EnrollKey')),
      })).code]);
      results.push(['no proof of key possession', (await grpcUnary(c, 'enrollKey', { siteId: 'site-b', enrollmentCode: forB.code, agentVersion: 't' }, {})).code]);
      expect(results).toEqual([
        ['an unknown code', 'AUTH_ENROLLMENT_CODE_INVALID'],
        ['another site\'s code', 'AUTH_ENROLLMENT_CODE_INVALID'],
        ['an expired code', 'AUTH_ENROLLMENT_CODE_EXPIRED'],
        ['a valid code (control)', 'OK'],
        ['a used code', 'AUTH_ENROLLMENT_CODE_USED'],
        ['no proof of key possession', 'AUTH_DPOP_MISSING'],
      ]);
    });
  });
});
