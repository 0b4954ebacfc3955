import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec, Task } from '@medfed/proto';
import { CoordinatorClient } from '../../src/transport/client.js';
import { createModelVerifier, expectedArtifact, ModelGate, type ModelGateSettings } from '../../src/verification/index.js';
import { startTestCoordinator, type TestCoordinator } from '../../../test/support/coordinator.js';

const SITES = ['site-a', 'site-b', 'site-c'];

const spec = (): JobSpec => ({
  name: 'model-gate', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'],
  model: { hidden: [8], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 2, roundDeadlineSeconds: 30, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
});

/** A site policy that forbids every model without an SBOM (a model has none). */
const FORBIDDING_POLICY = `version: 1
name: st-example-no-unlisted-models
environments:
  prod:
    rules:
      - { gate: signature, trigger: missing, action: stop }
      - { gate: sbom, trigger: missing, action: stop }
  dev:
    rules:
      - { gate: sbom, trigger: missing, action: warn }
`;

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string; details?: Record<string, unknown> };
  }
  return { code: 'OK', message: '' };
}

describe("the site's gate policy judges every verified model before load (real coordinator, gRPC, signed manifests)", () => {
  let t: TestCoordinator;
  let work: string;
  let trust: { manifestJwks: string; checkpointKey: string };
  let client: CoordinatorClient;
  let task: Task;
  let jobId: string;
  let policyFile: string;
  let n = 0;

  /** The agent's verifier as `medfed agent start` builds it, in a fresh state dir, on the shared client. */
  async function agentVerifier(env: 'development' | 'production', gate: ModelGateSettings, warnings: string[] = [], pinned = true) {
    const verifier = await createModelVerifier({
      env, siteId: 'site-a', stateDir: join(work, `agent-${n++}`), gate, ...(pinned ? { trust } : {}),
      onWarning: (message) => { warnings.push(message); },
    });
    client.verifier = verifier;
    return verifier;
  }

  const download = () => client.downloadModel('site-a', jobId, task.modelId, task.modelSha256, expectedArtifact({ round: task.modelRound, kind: 'weights' }));

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    work = await mkdtemp(join(tmpdir(), 'medfed-model-gate-'));
    const jwksFile = join(work, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(t.coordinator.publisher.jwks()));
    trust = { manifestJwks: jwksFile, checkpointKey: t.coordinator.publisher.checkpointKey };
    policyFile = join(work, 'site-policy.yaml');
    await writeFile(policyFile, FORBIDDING_POLICY);
    for (const s of SITES) await t.coordinator.engine.registerSite(s, s);
    client = new CoordinatorClient(t.coordinator.grpc);
    jobId = (await t.coordinator.engine.createJob(spec(), 'tester')).id;
    task = (await client.pollTask('site-a', 2000)).task!;
    expect(task.modelId).not.toBe('');
  });

  afterAll(async () => {
    client.close();
    await t.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('lets the honest, signed model through the shipped model policy in production', async () => {
    const warnings: string[] = [];
    const verifier = await agentVerifier('production', {}, warnings);
    const { bytes } = await download();
    expect(bytes.byteLength).toBeGreaterThan(0);
    expect(verifier.manifestDigestOf(task.modelId)).toMatch(/^[0-9a-f]{64}$/);
    expect(warnings.filter((w) => w.includes('gate policy'))).toEqual([]);
  });

  it("refuses a model the site's policy forbids, with its triggers, before anything records or loads it", async () => {
    const verifier = await agentVerifier('production', { policy: policyFile });
    const err = await failure(download());
    expect(err.code).toBe('MODEL_GATE_STOPPED');
    expect(err.message).toContain('sbom/missing');
    expect(err.details?.triggers).toEqual([expect.objectContaining({ gate: 'sbom', trigger: 'missing' })]);
    // The manifest verified, yet the model was stopped: the agent recorded nothing for it.
    expect(verifier.manifestDigestOf(task.modelId)).toBeNull();
  });

  it('refuses an unsigned model under prod rules (no pinned manifest keys, so no verified signature)', async () => {
    await agentVerifier('development', { env: 'prod' }, [], false);
    const err = await failure(download());
    expect(err.code).toBe('MODEL_GATE_STOPPED');
    expect(err.details?.triggers).toEqual([expect.objectContaining({ gate: 'signature', trigger: 'missing' })]);
  });

  it('logs a warn decision and loads the model', async () => {
    const warnings: string[] = [];
    await agentVerifier('development', { policy: policyFile }, warnings);
    expect((await download()).bytes.byteLength).toBeGreaterThan(0);
    expect(warnings.some((w) => w.includes('warns about model') && w.includes('sbom/missing'))).toBe(true);
  });

  it('refuses at start a production agent whose gate environment is weaker than prod, or whose policy is unreadable', async () => {
    expect((await failure(agentVerifier('production', { env: 'dev' }))).code).toBe('MODEL_GATE_POLICY_INVALID');
    expect((await failure(agentVerifier('production', { policy: join(work, 'missing.yaml') }))).code).toBe('MODEL_GATE_POLICY_INVALID');
    const devOnly = join(work, 'dev-only.yaml');
    await writeFile(devOnly, 'version: 1\nname: dev-only\nenvironments:\n  dev:\n    rules: []\n');
    expect((await failure(ModelGate.load({ policy: devOnly }, 'production', () => {}))).code).toBe('MODEL_GATE_POLICY_INVALID');
  });
});
