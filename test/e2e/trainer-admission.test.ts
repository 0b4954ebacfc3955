import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainerSandbox, type TrainerSandbox } from '@medfed/node-agent/sandbox/index';
import type { JobSpec } from '@medfed/proto';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

describe('trainer builds join a job\'s allowlist only through the supply-chain gate', () => {
  let t: TestCoordinator;
  let sandbox: TrainerSandbox;
  let work: string;
  let jobId: string;
  /** The bundle as a build artifact: symbolic links resolved (the gate admits regular files only). */
  let artifact: string;
  const post = (path: string, body: unknown) => fetch(`${t.coordinator.rest}${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${t.coordinator.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    work = await mkdtemp(join(tmpdir(), 'medfed-admit-'));
    sandbox = await createTrainerSandbox({ env: 'development', onWarning: () => {} });
    artifact = join(work, 'artifact');
    await cp(sandbox.bundle.dir, artifact, { recursive: true, dereference: true });
    for (const s of ['site-a', 'site-b']) await t.coordinator.engine.registerSite(s, s);
    const spec: JobSpec = {
      name: 'admission', features: ['a'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 1, minSites: 1,
      roundDeadlineSeconds: 60, strategy: { name: 'fedavg' }, sites: ['site-a', 'site-b'], standardization: 'none',
      encryption: { enabled: false, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 5, fracBits: 0 },
    };
    jobId = (await t.coordinator.engine.createJob(spec, 'tester')).id;
  }, 120_000);
  afterAll(async () => {
    await sandbox.dispose();
    await t.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('admits the build the agents run, under the measurement their attestations carry', async () => {
    const res = await post(`/v1/jobs/${jobId}/trainers`, { artifactPath: artifact, listing: sandbox.bundle.listing });
    const body = await res.json() as { measurement: string; decision: string };
    expect(res.status).toBe(201);
    expect(body.measurement).toBe(sandbox.trainerDigest);
    expect(['allow', 'warn']).toContain(body.decision);
    const { rows } = await t.coordinator.db.query<{ measurement: string }>('SELECT measurement FROM job_trainers WHERE job_id = $1', [jobId]);
    expect(rows.map((r) => r.measurement)).toEqual([sandbox.trainerDigest]);
    // The allowlist in force is published as a signed manifest in the job's chain.
    const { rows: manifests } = await t.coordinator.db.query<{ jws: string }>(`SELECT jws FROM model_manifests WHERE job_id = $1 AND kind = 'trainer-allowlist'`, [jobId]);
    expect(manifests).toHaveLength(1);
    const payload = JSON.parse(Buffer.from(manifests[0]!.jws.split('.')[1]!, 'base64url').toString('utf8')) as { kind: string; blobs: { name: string }[] };
    expect(payload).toMatchObject({ kind: 'trainer-allowlist', blobs: [{ name: 'trainer-allowlist.json' }] });
  });

  it('refuses a build the gate stops, naming the triggers, and audits the refusal', async () => {
    const report = join(work, 'report.json');
    await writeFile(report, '{"SchemaVersion": 2, "Results": [');
    const res = await post(`/v1/jobs/${jobId}/trainers`, { artifactPath: artifact, listing: sandbox.bundle.listing, vulnReportPath: report });
    const body = await res.json() as { code: string; message: string };
    expect(res.status).toBe(422);
    expect(body.code).toBe('TRAINER_REFUSED');
    expect(body.message).toMatch(/input\//);
    const { rows } = await t.coordinator.db.query<{ outcome: string; event: string }>(
      "SELECT outcome, event FROM audit_events WHERE action = 'trainer.admit' ORDER BY seq");
    expect(rows.at(-1)?.outcome).toBe('denied');
    expect(JSON.parse(rows.at(-1)!.event)).toMatchObject({ rule: 'gate:stop', details: { reason: 'GATE_STOP' } });
  });

  it('refuses a listing that does not describe the artifact (a file changed after measuring)', async () => {
    const copy = join(work, 'bundle');
    await cp(artifact, copy, { recursive: true });
    await chmod(copy, 0o755);
    const entry = sandbox.bundle.listing.split('\n').find((l) => l.startsWith('F ') && !l.includes('runtime/'))!.split(' ')[2]!;
    await chmod(join(copy, entry), 0o644);
    await writeFile(join(copy, entry), 'tampered');
    const res = await post(`/v1/jobs/${jobId}/trainers`, { artifactPath: copy, listing: sandbox.bundle.listing });
    const body = await res.json() as { code: string; message: string };
    expect(res.status).toBe(400);
    expect(body.message).toContain(entry);
  });
});
