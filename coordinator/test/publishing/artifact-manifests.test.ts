import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import type { JobSpec } from '@medfed/proto';
import { canonicalBytes } from '@medfed/proto/audit/index';
import { verifyManifest, type Manifest } from '@medfed/proto/manifest/index';
import { startTestCoordinator, type TestCoordinator } from '../../../test/support/coordinator.js';

const spec = (): JobSpec => ({
  name: 'manifests', features: ['f1', 'f2'], label: 'y', classes: ['no', 'yes'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 1, roundDeadlineSeconds: 30, strategy: { name: 'fedavg' }, sites: ['site-a'], standardization: 'none',
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('he-public-params and trainer-allowlist manifests join the job\'s signed chain', () => {
  let t: TestCoordinator;
  let jobId: string;

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    await t.coordinator.engine.registerSite('site-a', 'site-a');
    jobId = (await t.coordinator.engine.createJob(spec(), 'tester')).id;
  });
  afterAll(async () => { await t.stop(); });

  async function chain(): Promise<{ model_id: string; kind: string; digest: string; manifest: Manifest }[]> {
    const { rows } = await t.coordinator.db.query<{ model_id: string; kind: string; jws: string; digest: string }>(
      'SELECT model_id, kind, jws, digest FROM model_manifests WHERE job_id = $1 ORDER BY chain_seq', [jobId]);
    return Promise.all(rows.map(async (r) => ({ ...r, manifest: (await verifyManifest(r.jws, t.coordinator.publisher.jwks())).manifest })));
  }

  it('signs each kind over the canonical JSON of its statement, chained to the previous manifest, once per distinct statement', async () => {
    const c = t.coordinator;
    const publicParams = {
      format: 'medfed-he-public-params/1' as const, job: jobId, epoch: 1, paramSetId: 'bfv-n4096-q60-t48-2x23',
      paramsDigest: 'a'.repeat(64), keyId: 'b'.repeat(32), sites: ['site-a'], generatingSiteId: 'site-a',
    };
    const digests = ['c'.repeat(64), 'd'.repeat(64)];
    await c.db.transaction(async (tx) => {
      await c.publisher.onPublicParamsStored(tx, { jobId, epoch: 1, round: 1, publicParams });
      await c.publisher.onTrainerAllowlistChanged(tx, { jobId, round: 1, measurements: [digests[1]!, digests[0]!, digests[1]!] });
      // The same list again (another admission of an admitted build) publishes nothing new.
      await c.publisher.onTrainerAllowlistChanged(tx, { jobId, round: 1, measurements: digests });
    });
    const links = await chain();
    expect(links.map((l) => l.kind)).toEqual(['weights', 'he-public-params', 'trainer-allowlist']);
    for (let i = 1; i < links.length; i++) expect(links[i]!.manifest.previousManifest).toBe(links[i - 1]!.digest);

    const params = links[1]!.manifest;
    expect(params).toMatchObject({ kind: 'he-public-params', job: jobId, round: 1, paramsDigest: publicParams.paramsDigest, contributors: [] });
    expect(params.blobs).toEqual([{ name: 'he-public-params.json', sha256: sha256(canonicalBytes(publicParams)), size: canonicalBytes(publicParams).byteLength }]);

    const allow = links[2]!.manifest;
    const list = { format: 'medfed-trainer-allowlist/1', job: jobId, measurements: [...digests].sort() };
    expect(allow).toMatchObject({ kind: 'trainer-allowlist', paramsDigest: null });
    expect(allow.blobs[0]!.sha256).toBe(sha256(canonicalBytes(list)));

    // A changed list is a new manifest; the log takes every one of them.
    await c.db.transaction((tx) => c.publisher.onTrainerAllowlistChanged(tx, { jobId, round: 1, measurements: [...digests, 'e'.repeat(64)] }));
    expect((await chain()).filter((l) => l.kind === 'trainer-allowlist')).toHaveLength(2);
    await c.publisher.flushPending();
    for (const l of await chain()) expect((await c.publisher.manifestOf(l.model_id)).leafIndex).toBeGreaterThanOrEqual(0);
  });
});
