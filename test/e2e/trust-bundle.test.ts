import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec } from '@medfed/proto';
import { writeDevCa, type DevCaFiles } from '@medfed/coordinator/keys/index';
import { loadAgentConfig } from '@medfed/node-agent';
import { channelCredentials } from '@medfed/node-agent/identity/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { createModelVerifier, expectedArtifact } from '@medfed/node-agent/verification/index';
import { RestClient } from '../../cli/src/federation/rest-client.js';
import { runAuditExport, runAuditVerify } from '../../cli/src/commands/audit.js';
import { runModelExport } from '../../cli/src/commands/model.js';
import { runCli } from '../support/cli.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

const DAY_S = 86_400;
const FINGERPRINT = /^fingerprint {2}([A-Z2-7]{4}(?:-[A-Z2-7]{4}){7})$/m;

const spec = (sites: string[]): JobSpec => ({
  name: 'trust', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'],
  model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 2, roundDeadlineSeconds: 3600, strategy: { name: 'fedavg' }, sites, standardization: 'none',
});

function io(env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '', code: -1 };
  return { out, io: { stdout: (t: string) => { out.stdout += t; }, stderr: (t: string) => { out.stderr += t; }, exit: (c: number) => { out.code = c; }, env } };
}

describe('the consortium trust bundle: export at the coordinator, import at a site, verify against it', () => {
  let a: TestCoordinator; // TLS, with a server certificate that expires in 10 days
  let b: TestCoordinator; // another coordinator (plain HTTP, development)
  let tls: DevCaFiles;
  let caPem: Buffer;
  let work: string;
  let jobA: string;
  let jobB: string;
  const bundles: Record<'a' | 'b', { dir: string; fingerprint: string }> = { a: { dir: '', fingerprint: '' }, b: { dir: '', fingerprint: '' } };
  const stateDir = () => join(work, 'site-a-state');

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'medfed-trust-e2e-'));
    tls = await writeDevCa(join(work, 'tls'), ['127.0.0.1', 'localhost'], { days: 10 });
    caPem = await readFile(tls.caCert);
    a = await startTestCoordinator('postgres', { 'tls.cert': tls.serverCert, 'tls.key': tls.serverKey });
    b = await startTestCoordinator('pglite');
    for (const t of [a, b]) for (const s of ['site-a', 'site-b']) await t.coordinator.engine.registerSite(s, s);
    jobA = (await a.coordinator.engine.createJob(spec(['site-a', 'site-b']), 'tester')).id;
    jobB = (await b.coordinator.engine.createJob(spec(['site-a', 'site-b']), 'tester')).id;
  }, 120_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('medfed trust export (a separate process) writes the bundle from the running coordinator and prints its fingerprint and the expiry warning', async () => {
    bundles.a.dir = join(work, 'bundle-a');
    const run = await runCli(['trust', 'export', '--out', bundles.a.dir, '--coordinator', a.coordinator.rest, '--ca', tls.caCert,
      '--key-file', a.coordinator.adminKeyFile, '--grpc', a.coordinator.grpc, '--consortium', 'Test consortium']);
    expect(run.code).toBe(0);
    bundles.a.fingerprint = FINGERPRINT.exec(run.stdout)![1]!;
    expect(run.stdout).toContain(`medfed agent trust import DIR --fingerprint ${bundles.a.fingerprint}`);
    expect((await readdir(bundles.a.dir)).sort()).toEqual(['ca.pem', 'checkpoint.vkey', 'manifest-jwks.json', 'token-jwks.json', 'trust.json']);
    // The served certificate expires in 10 days (within the 30-day threshold); the CA in a year.
    expect(run.stderr).toMatch(/medfed trust export: warning: certificate tls-server expires on \S+ \(in (9|10) days\)/);
    expect(run.stderr).not.toContain('certificate ca ');

    const json = await runCli(['trust', 'export', '--out', bundles.a.dir, '--coordinator', a.coordinator.rest, '--ca', tls.caCert,
      '--key-file', a.coordinator.adminKeyFile, '--grpc', a.coordinator.grpc, '--consortium', 'Test consortium', '--format', 'json']);
    expect(json.code).toBe(0);
    // Nothing changed at the coordinator: the same bundle, version and fingerprint.
    expect(JSON.parse(json.stdout)).toMatchObject({ unchanged: true, version: 1, fingerprint: bundles.a.fingerprint,
      coordinator: { rest: a.coordinator.rest, grpc: a.coordinator.grpc, consortium: 'Test consortium' } });

    bundles.b.dir = join(work, 'bundle-b');
    const other = await runCli(['trust', 'export', '--out', bundles.b.dir, '--coordinator', b.coordinator.rest, '--key-file', b.coordinator.adminKeyFile, '--grpc', b.coordinator.grpc]);
    expect(other.code).toBe(0);
    bundles.b.fingerprint = FINGERPRINT.exec(other.stdout)![1]!;
    expect(other.stderr).toContain('the bundle holds no CA certificate');
  }, 300_000);

  it('medfed agent trust import refuses another fingerprint, naming both, then pins the bundle with the announced one', async () => {
    const wrong = await runCli(['agent', 'trust', 'import', bundles.a.dir, '--fingerprint', bundles.b.fingerprint, '--state-dir', stateDir()]);
    expect(wrong.code).toBe(7);
    expect(wrong.stderr).toContain('TRUST_BUNDLE_FINGERPRINT_MISMATCH');
    expect(wrong.stderr).toContain(bundles.a.fingerprint);
    expect(wrong.stderr).toContain(bundles.b.fingerprint);

    const ok = await runCli(['agent', 'trust', 'import', bundles.a.dir, '--fingerprint', bundles.a.fingerprint, '--state-dir', stateDir()]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`pinned trust bundle version 1 (fingerprint ${bundles.a.fingerprint})`);

    const show = await runCli(['agent', 'trust', 'show', '--state-dir', stateDir(), '--format', 'json']);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ version: 1, fingerprint: bundles.a.fingerprint, coordinator: { rest: a.coordinator.rest } });
    expect((await runCli(['agent', 'trust', 'show', '--state-dir', join(work, 'nothing-pinned')])).code).toBe(1);
  }, 300_000);

  it('medfed model verify --trust accepts the coordinator\'s model with the pinned anchors and refuses it with another coordinator\'s bundle', async () => {
    const model = join(work, 'model-a');
    const exp = io();
    expect(await runModelExport({ coordinator: a.coordinator.rest, ca: tls.caCert, token: a.coordinator.adminToken, job: jobA, round: '0', out: model }, exp.io, {})).toBe(0);

    const pinned = await runCli(['model', 'verify', model, '--job', jobA, '--round', '0', '--trust', join(stateDir(), 'trust')]);
    expect(pinned.stderr).toBe('');
    expect(pinned.code).toBe(0);
    expect(pinned.stdout).toMatch(/manifest keys pinned .*log key pinned/);
    expect(pinned.stdout).toContain(`trust      bundle version 1 of ${a.coordinator.rest}, fingerprint ${bundles.a.fingerprint}`);
    expect((await runCli(['model', 'verify', model, '--job', jobA, '--round', '0', '--trust', bundles.a.dir])).code).toBe(0);

    const foreign = await runCli(['model', 'verify', model, '--job', jobA, '--round', '0', '--trust', bundles.b.dir]);
    expect(foreign.code).toBe(7);
    expect(foreign.stderr).toContain('REFUSED');
    // And the other way round: B's model does not verify against A's pinned anchors.
    const modelB = join(work, 'model-b');
    expect(await runModelExport({ coordinator: b.coordinator.rest, token: b.coordinator.adminToken, job: jobB, round: '0', out: modelB }, io().io, {})).toBe(0);
    expect((await runCli(['model', 'verify', modelB, '--job', jobB, '--round', '0', '--trust', join(stateDir(), 'trust')])).code).toBe(7);
  }, 300_000);

  it('medfed audit verify --trust accepts the coordinator\'s audit export with the pinned anchors and refuses it with another coordinator\'s bundle', async () => {
    const admin = new RestClient(a.coordinator.rest, { token: a.coordinator.adminToken }, { ca: caPem });
    const { apiKey } = await admin.call<{ apiKey: string }>('POST', '/v1/admin/api-keys', { name: 'auditor', role: 'auditor' });
    const file = join(work, 'audit-a.tar.gz');
    const exp = io({ MEDFED_API_KEY: apiKey });
    expect(await runAuditExport({ coordinator: a.coordinator.rest, ca: tls.caCert, out: file }, exp.io)).toBe(0);
    const ok = io();
    expect(await runAuditVerify(file, { trust: join(stateDir(), 'trust') }, ok.io)).toBe(0);
    expect(ok.out.stdout).toContain(`keys from the trust bundle ${join(stateDir(), 'trust')}`);
    expect(ok.out.stdout).toMatch(/tlog proofs {2}verified/);
    const foreign = io();
    expect(await runAuditVerify(file, { trust: bundles.b.dir }, foreign.io)).toBe(7);
  }, 300_000);

  it('an agent configured with nothing but its state dir verifies a downloaded model with the pinned anchors, over TLS with the pinned CA', async () => {
    const config = await loadAgentConfig({ env: {}, overrides: {
      env: 'production', siteId: 'site-a', 'coordinator.grpc': a.coordinator.grpc, 'data.csv': 'unused.csv', 'data.label': 'y', stateDir: stateDir(),
    } });
    expect(config.coordinator.tls?.ca).toBe(join(stateDir(), 'trust', 'current', 'ca.pem'));
    const warnings: string[] = [];
    const verifier = await createModelVerifier({
      env: 'production', siteId: 'site-a', stateDir: stateDir(), trust: config.trust, coordinatorCa: config.coordinator.tls?.ca, onWarning: (m) => warnings.push(m),
    });
    expect(warnings).toEqual([]); // the pinned CA expires in a year: nothing to warn about
    const client = new CoordinatorClient(a.coordinator.grpc, channelCredentials(a.coordinator.grpc, config.coordinator.tls));
    try {
      client.verifier = verifier;
      const task = (await client.pollTask('site-a', 2000)).task!;
      const { bytes } = await client.downloadModel('site-a', jobA, task.modelId, task.modelSha256, expectedArtifact({ round: task.modelRound, kind: 'weights' }, Date.now()));
      expect(bytes.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  }, 300_000);

  it('the coordinator reports its certificates\' expiry: GET /v1/trust/expiry and medfed_certificate_expiry_timestamp_seconds', async () => {
    const admin = new RestClient(a.coordinator.rest, { token: a.coordinator.adminToken }, { ca: caPem });
    const expiry = await admin.call<{ name: string; notAfter: string; daysLeft: number; warning: boolean }[]>('GET', '/v1/trust/expiry');
    expect(expiry.map((e) => [e.name, e.warning])).toEqual([['tls-server', true], ['ca', false]]);
    const server = expiry[0]!;
    expect(Object.keys(server).sort()).toEqual(['daysLeft', 'name', 'notAfter', 'warning']);
    expect(Math.abs(Date.parse(server.notAfter) / 1000 - (Date.now() / 1000 + 10 * DAY_S))).toBeLessThan(DAY_S);
    expect([9, 10]).toContain(server.daysLeft);

    const metrics = await new RestClient(a.coordinator.rest, { token: a.coordinator.adminToken }, { ca: caPem }).open('GET', '/metrics', { accept: 'text/plain' });
    let text = '';
    for await (const chunk of metrics) text += (chunk as Buffer).toString('utf8');
    const gauge = /medfed_certificate_expiry_timestamp_seconds\{certificate="tls-server"\} (\d+)/.exec(text);
    expect(Number(gauge?.[1])).toBe(Math.floor(Date.parse(server.notAfter) / 1000));
    expect(text).toMatch(/medfed_certificate_expiry_timestamp_seconds\{certificate="ca"\} \d+/);

    // A plain-HTTP development coordinator serves no certificate; the route is for admins and auditors.
    expect(await new RestClient(b.coordinator.rest, { token: b.coordinator.adminToken }).call('GET', '/v1/trust/expiry')).toEqual([]);
    expect((await fetch(`${b.coordinator.rest}/v1/trust/expiry`)).status).toBe(401);
  }, 300_000);
});
