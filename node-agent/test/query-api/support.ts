import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import pino from 'pino';
import { loadAgentConfig } from '../../src/config/load.js';
import { startQueryApi, type RunningQueryApi } from '../../src/query-api/index.js';

export const ISSUER = 'https://idp.hospital-a.example';
export const AUDIENCE = 'medfed-local-query';
export const PATIENTS = 40;
/** Patient 3 (care team dr-a) opted out. */
export const OPTED_OUT = 3;

export interface Patient {
  mrn: string; name: string; birth_date: string; sex: string; ward: string; care_team: string; lactate: number; crp: number; outcome: string;
}

export const patients: Patient[] = Array.from({ length: PATIENTS }, (_, i) => ({
  mrn: `MRN-7${String(i).padStart(3, '0')}`,
  name: `Zyxname${i}Q`,
  birth_date: `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`,
  sex: i % 2 === 1 ? 'F' : 'M',
  ward: i < 3 ? 'ICU' : i % 2 === 1 ? 'A' : 'B',
  care_team: i % 3 === 0 ? 'dr-a' : i % 3 === 1 ? 'dr-b;dr-c' : 'dr-c',
  lactate: (i % 7) / 2,
  crp: i % 11,
  outcome: i % 4 === 0 ? 'readmitted' : 'home',
}));

export const SCHEMA = {
  patientIdField: 'mrn',
  careTeamField: 'care_team',
  fields: [
    { name: 'mrn', type: 'string', class: 'direct-identifier', identifier: 'medical-record-number', defaultTransform: 'pseudonymize' },
    { name: 'name', type: 'string', class: 'direct-identifier', identifier: 'name', defaultTransform: 'redact' },
    { name: 'birth_date', type: 'date', class: 'quasi-identifier', identifier: 'birth-date', generalization: 'birth-date', defaultTransform: 'generalize' },
    { name: 'sex', type: 'category', class: 'quasi-identifier', defaultTransform: 'full' },
    { name: 'ward', type: 'category', class: 'clinical' },
    { name: 'care_team', type: 'string', class: 'sensitive-clinical' },
    { name: 'lactate', type: 'number', class: 'clinical' },
    { name: 'crp', type: 'number', class: 'clinical' },
    { name: 'outcome', type: 'category', class: 'clinical' },
  ],
};

/** The steward grants researchers names in clear (so the rails must refuse them) and noised CRP. */
export const POLICY = {
  siteId: 'site-a',
  minCellSize: 5,
  roles: { researcher: { fields: { name: 'full', crp: { transform: 'noise', mechanism: 'laplace', epsilon: 0.1, lower: 0, upper: 20 } } } },
};

export interface Fixture {
  dir: string;
  stateDir: string;
  api: RunningQueryApi;
  privateKey: CryptoKey;
  token(claims: Record<string, unknown>, options?: { issuer?: string; audience?: string; key?: CryptoKey; kid?: string }): Promise<string>;
  get(path: string, credential?: string): Promise<{ status: number; text: string; json: any }>;
  post(path: string, body: unknown, credential?: string): Promise<{ status: number; text: string; json: any }>;
}

export async function startFixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'medfed-query-api-'));
  const stateDir = join(dir, 'state');
  const cols = Object.keys(patients[0]!) as (keyof Patient)[];
  await writeFile(join(dir, 'patients.csv'), `${cols.join(',')}\n${patients.map((p) => cols.map((c) => String(p[c])).join(',')).join('\n')}\n`);
  await writeFile(join(dir, 'schema.json'), JSON.stringify(SCHEMA));
  await writeFile(join(dir, 'policy.json'), JSON.stringify(POLICY));
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' }] }));
  const { mkdir } = await import('node:fs/promises');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(join(stateDir, 'opt-out.txt'), `# withdrawn consent\n${patients[OPTED_OUT]!.mrn}\n`);
  await writeFile(join(dir, 'agent.json'), JSON.stringify({
    siteId: 'site-a',
    coordinator: { grpc: 'localhost:1' },
    data: { csv: join(dir, 'patients.csv'), label: 'outcome' },
    stateDir,
    privacy: { budgetEpsilon: 0.25, budgetDelta: 1e-5 },
    queryApi: {
      port: 0,
      schema: join(dir, 'schema.json'),
      policy: join(dir, 'policy.json'),
      identity: { oidc: { issuer: ISSUER, audience: AUDIENCE, jwksFile: join(dir, 'jwks.json'), roleClaim: 'groups', roleMap: { 'medfed-clinicians': 'clinician', 'medfed-research': 'researcher', 'medfed-audit': 'auditor', 'medfed-stewards': 'site-steward' } } },
    },
  }));
  const config = await loadAgentConfig({ file: join(dir, 'agent.json'), env: {} });
  const api = await startQueryApi({ config, log: pino({ level: 'silent' }) });
  const call = async (method: string, path: string, body: unknown, credential?: string) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { ...(credential === undefined ? {} : { authorization: `Bearer ${credential}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, text, json };
  };
  return {
    dir, stateDir, api, privateKey,
    async token(claims, options = {}) {
      return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'idp-1' }).setIssuer(options.issuer ?? ISSUER)
        .setAudience(options.audience ?? AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(options.key ?? privateKey);
    },
    get: (path, credential) => call('GET', path, undefined, credential),
    post: (path, body, credential) => call('POST', path, body, credential),
  };
}
