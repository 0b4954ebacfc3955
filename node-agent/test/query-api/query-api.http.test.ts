import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { generateKeyPair } from 'jose';
import { issueAccessToken } from '@medfed/coordinator/auth/tokens/access-token';
import { FileSigningKeyStore } from '@medfed/coordinator/keys/file-signing-key-store';
import { TokenKeyRing } from '@medfed/coordinator/keys/key-ring';
import { LocalUsers } from '../../src/query-api/index.js';
import { AUDIENCE, ISSUER, OPTED_OUT, PATIENTS, patients, startFixture, type Fixture } from './support.js';

let f: Fixture;
const tokens: Record<string, string> = {};
const own = (user: string) => patients.filter((p, i) => i !== OPTED_OUT && p.care_team.split(';').includes(user));

beforeAll(async () => {
  f = await startFixture();
  tokens.drA = await f.token({ sub: 'dr-a', groups: ['staff', 'medfed-clinicians'] });
  tokens.researcher = await f.token({ sub: 'r-1', groups: 'medfed-research' });
  tokens.auditor = await f.token({ sub: 'aud-1', groups: 'medfed-audit' });
  tokens.steward = await f.token({ sub: 'steward-1', groups: 'medfed-stewards' });
});
afterAll(async () => {
  await f?.api.close();
  if (f) await rm(f.dir, { recursive: true, force: true });
});

describe('identity: only the hospital is trusted', () => {
  it('accepts a token of the hospital identity provider (local JWKS) and maps its role claim', async () => {
    const res = await f.get('/v1/schema', tokens.drA);
    expect(res.status).toBe(200);
    expect(res.json.role).toBe('clinician');
    expect(res.json.fields.find((x: { name: string }) => x.name === 'name').transform).toBe('full');
  });

  it('refuses a real coordinator access token, with its own issuer or claiming the hospital issuer', async () => {
    const dir = join(f.dir, 'coordinator-keys');
    const ring = await TokenKeyRing.open(new FileSigningKeyStore(dir), { maxTokenSeconds: 300, skewSeconds: 5, rotateAfterSeconds: 0 });
    const minted = await issueAccessToken(ring, { issuer: 'https://coordinator.medfed.example', audience: 'medfed-api', sub: 'user:admin', role: 'admin' }, 300);
    const own = await f.get('/v1/records', minted.token);
    expect([own.status, own.json.code]).toEqual([401, 'QUERY_TOKEN_UNTRUSTED_ISSUER']);
    // The coordinator signing a token that names the hospital as issuer and audience: its key is not the hospital's.
    const forged = await issueAccessToken(ring, { issuer: ISSUER, audience: AUDIENCE, sub: 'dr-a', role: 'admin' }, 300);
    const res = await f.get('/v1/records', forged.token);
    expect([res.status, res.json.code]).toEqual([401, 'QUERY_TOKEN_UNTRUSTED_KEY']);
  });

  it('refuses missing credentials, another audience, an unknown key and an unmapped role with specific codes', async () => {
    expect((await f.get('/v1/schema')).json.code).toBe('QUERY_AUTH_REQUIRED');
    const other = await f.get('/v1/schema', await f.token({ sub: 'dr-a', groups: 'medfed-clinicians' }, { audience: 'another-app' }));
    expect([other.status, other.json.code]).toEqual([401, 'QUERY_TOKEN_INVALID']);
    const { privateKey } = await generateKeyPair('ES256');
    const stranger = await f.get('/v1/schema', await f.token({ sub: 'dr-a', groups: 'medfed-clinicians' }, { key: privateKey }));
    expect([stranger.status, stranger.json.code]).toEqual([401, 'QUERY_TOKEN_UNTRUSTED_KEY']);
    const unmapped = await f.get('/v1/schema', await f.token({ sub: 'x', groups: ['clinician'] }));
    expect([unmapped.status, unmapped.json.code]).toEqual([403, 'QUERY_ROLE_UNMAPPED']);
  });

  it('accepts a key the steward issued locally, stored only as a hash in a 0600 file, and refuses a wrong one', async () => {
    const users = new LocalUsers(f.stateDir);
    const { key } = await users.add('dr-b', 'clinician');
    const text = await readFile(users.path, 'utf8');
    expect(text).not.toContain(key);
    expect((await stat(users.path)).mode & 0o777).toBe(0o600);
    const res = await f.get('/v1/records?select=name,mrn', key);
    expect(res.status).toBe(200);
    expect(res.json.records.map((r: { name: string }) => r.name).sort()).toEqual(own('dr-b').map((p) => p.name).sort());
    const wrong = await f.get('/v1/schema', `${key.slice(0, -2)}xx`);
    expect([wrong.status, wrong.json.code]).toEqual([401, 'QUERY_API_KEY_INVALID']);
  });
});

describe('masking per role', () => {
  it('shows a clinician the full records of their own patients only, opted-out patients left out', async () => {
    const res = await f.get('/v1/records', tokens.drA);
    expect(res.status).toBe(200);
    const expected = own('dr-a');
    expect(res.json.records).toHaveLength(expected.length);
    expect(res.json.records.map((r: { mrn: string }) => r.mrn).sort()).toEqual(expected.map((p) => p.mrn).sort());
    expect(res.json.records[0].birth_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(res.text).not.toContain(patients[OPTED_OUT]!.name);
  });

  it('gives researchers generalised, pseudonymised and noised fields and refuses identifiers', async () => {
    const res = await f.post('/v1/records/query', { select: ['mrn', 'birth_date', 'lactate'], study: 'S-1' }, tokens.researcher);
    expect(res.status).toBe(200);
    expect(res.json.total).toBe(patients.length - 1);
    for (const p of patients) expect(res.text).not.toContain(p.mrn);
    for (const r of res.json.records) expect(String(r.birth_date)).toMatch(/^(\d{4}|\*)$/);
    const noStudy = await f.get('/v1/records?select=mrn', tokens.researcher);
    expect([noStudy.status, noStudy.json.code]).toEqual([400, 'MASK_STUDY_REQUIRED']);
    const name = await f.get('/v1/records?select=name,lactate', tokens.researcher);
    expect([name.status, name.json.code]).toEqual([403, 'MASK_DIRECT_IDENTIFIER']);
    const byName = await f.post('/v1/aggregates', { groupBy: ['outcome'], where: [{ field: 'name', equals: patients[5]!.name }] }, tokens.researcher);
    expect([byName.status, byName.json.code]).toEqual([403, 'MASK_DIRECT_IDENTIFIER']);
    expect(byName.text).not.toContain(patients[5]!.name);
    const team = await f.get('/v1/records?select=care_team', tokens.researcher);
    expect([team.status, team.json.code]).toEqual([403, 'MASK_FIELD_NOT_VISIBLE']);
  });

  it('gives auditors metadata only', async () => {
    const res = await f.get('/v1/records', tokens.auditor);
    expect(res.status).toBe(200);
    expect(res.json.records).toEqual([]);
    expect(res.json.columns.find((c: { name: string }) => c.name === 'lactate')).toMatchObject({ transform: 'metadata', count: patients.length - 1 });
    const values = await f.get('/v1/records?select=lactate', tokens.auditor);
    expect([values.status, values.json.code]).toEqual([403, 'MASK_FIELD_NOT_VISIBLE']);
  });

  it('refuses a filter or a group smaller than the minimum cell size, and suppresses it on request', async () => {
    const filtered = await f.get('/v1/records?select=lactate&where=ward%3DICU', tokens.researcher);
    expect([filtered.status, filtered.json.code]).toEqual([403, 'MASK_SMALL_CELL']);
    const refused = await f.post('/v1/aggregates', { groupBy: ['ward'], onSmallCell: 'refuse' }, tokens.researcher);
    expect([refused.status, refused.json.code]).toEqual([403, 'MASK_SMALL_CELL']);
    const suppressed = await f.post('/v1/aggregates', { groupBy: ['ward'], stats: ['lactate'] }, tokens.researcher);
    expect(suppressed.status).toBe(200);
    const icu = suppressed.json.cells.find((c: { key: { ward: string } }) => c.key.ward === 'ICU');
    expect(icu).toMatchObject({ count: null, suppressed: true });
    expect(icu.stats).toBeUndefined();
    const a = suppressed.json.cells.find((c: { key: { ward: string } }) => c.key.ward === 'A');
    const wardA = patients.filter((p, i) => i !== OPTED_OUT && p.ward === 'A');
    expect(a.count).toBe(wardA.length);
    expect(a.stats.lactate.mean).toBeCloseTo(wardA.reduce((s, p) => s + p.lactate, 0) / wardA.length, 10);
  });

  it('charges noised fields to the site ledger and refuses once the budget is spent', async () => {
    const first = await f.post('/v1/aggregates', { groupBy: ['outcome'], stats: ['crp'] }, tokens.researcher);
    expect(first.status).toBe(200);
    const ledger = JSON.parse(await readFile(join(f.stateDir, 'privacy-ledger', 'default.json'), 'utf8')) as { entries: { epsilon: number }[] };
    expect(ledger.entries.length).toBe(1);
    expect((await f.post('/v1/aggregates', { groupBy: ['outcome'], stats: ['crp'] }, tokens.researcher)).status).toBe(200);
    const over = await f.post('/v1/aggregates', { groupBy: ['outcome'], stats: ['crp'] }, tokens.researcher);
    expect([over.status, over.json.code]).toEqual([403, 'PRIVACY_BUDGET_EXCEEDED']);
  });

  it('validates every input against the endpoint schema', async () => {
    const bad = await f.post('/v1/aggregates', { groupBy: [], extra: 1 }, tokens.steward);
    expect([bad.status, bad.json.code]).toEqual([400, 'QUERY_INVALID']);
    const limit = await f.get('/v1/records?limit=0', tokens.steward);
    expect([limit.status, limit.json.code]).toEqual([400, 'QUERY_INVALID']);
    const unknown = await f.get('/v1/records?select=nope', tokens.steward);
    expect([unknown.status, unknown.json.code]).toEqual([400, 'MASK_UNKNOWN_FIELD']);
  });

  it('never returns a value the caller may not see, in any answer or error (property)', async () => {
    const names = ['mrn', 'name', 'birth_date', 'sex', 'ward', 'care_team', 'lactate', 'outcome'];
    const forbiddenFor = (role: string): string[] => {
      const optedOut = [patients[OPTED_OUT]!.name, patients[OPTED_OUT]!.mrn];
      if (role === 'drA') return [...optedOut, ...patients.filter((p) => !p.care_team.split(';').includes('dr-a')).flatMap((p) => [p.name, p.mrn])];
      if (role === 'steward') return optedOut;
      return [...optedOut, ...patients.flatMap((p) => [p.name, p.mrn])];
    };
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('drA', 'researcher', 'auditor', 'steward'),
      fc.constantFrom('records', 'query', 'aggregates', 'schema'),
      fc.subarray(names, { minLength: 1, maxLength: 3 }),
      fc.option(fc.record({ field: fc.constantFrom(...names), patient: fc.nat(PATIENTS - 1) })),
      async (role, endpoint, fields, filter) => {
        const where = filter === null ? undefined : [{ field: filter.field, equals: String(patients[filter.patient]![filter.field as 'name']) }];
        const res = endpoint === 'schema' ? await f.get('/v1/schema', tokens[role])
          : endpoint === 'records' ? await f.get(`/v1/records?select=${fields.join(',')}&study=S-1`, tokens[role])
            : endpoint === 'query' ? await f.post('/v1/records/query', { select: fields, study: 'S-1', ...(where ? { where } : {}) }, tokens[role])
              : await f.post('/v1/aggregates', { groupBy: fields, study: 'S-1', ...(where ? { where } : {}) }, tokens[role]);
        // The filter value echoes back only where the caller may see it anyway.
        for (const value of forbiddenFor(role)) expect([endpoint, role, res.text.includes(value)]).toEqual([endpoint, role, false]);
      },
    ), { numRuns: 60 });
  });

  it('logs every request to the access log without patient values', async () => {
    const text = await readFile(f.api.accessLog, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { route: string; status: number; user: string | null; fields?: string[] });
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.some((l) => l.status === 401 && l.user === null)).toBe(true);
    expect(lines.some((l) => l.route === '/v1/aggregates' && l.fields?.includes('ward'))).toBe(true);
    for (const p of patients) {
      expect(text).not.toContain(p.name);
      expect(text).not.toContain(p.mrn);
    }
    expect(text).not.toContain('ICU');
    expect((await stat(f.api.accessLog)).mode & 0o777).toBe(0o600);
  });
});
