// Encrypted vs plaintext rounds, measured in one run on this machine: 10 sites, a ~1M-parameter
// model, a real coordinator process over loopback gRPC, the real key ceremony and BFV encryption.
//   node bench/he.ts [--sites N] [--json]
// Site work (encryption) runs here one site after another and is counted once per round, as the
// sites of a real round encrypt in parallel on their own machines.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEncryptedVector, encryptUpdate, parameterCount, sha256Hex, type PinnedSite } from '@medfed/proto';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { ensureSiteKeys, pinsOf, type SiteKeys } from '@medfed/node-agent/custody/site-keys';
import { JobKeyStore } from '@medfed/node-agent/custody/job-key-store';
import { runKeyTask, type KeyTask } from '@medfed/node-agent/tasks/key-task';
import { printTable, startBenchCoordinator, waitForRoundClosed } from './lib/coordinator-process.ts';
import { plaintextRound, randomDelta } from './round.ts';
import { runHeKernels } from './he-kernels.ts';
import pino from 'pino';

const args = process.argv.slice(2);
const json = args.includes('--json');
const SITES = Number(args[args.indexOf('--sites') + 1]) || 10;
const FEATURES = 1000;
const HIDDEN = 998;
const PARAMS = parameterCount(FEATURES, [HIDDEN], 2);
const log = pino({ level: 'silent' });

function cpuSeconds<T>(fn: () => T): { result: T; cpu: number; wall: number } {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const result = fn();
  const c = process.cpuUsage(c0);
  return { result, cpu: (c.user + c.system) / 1e6, wall: (performance.now() - w0) / 1000 };
}

async function encryptedRound(sites: number) {
  const coord = await startBenchCoordinator();
  const stateRoot = await mkdtemp(join(tmpdir(), 'medfed-bench-he-sites-'));
  try {
    const ids = Array.from({ length: sites }, (_, i) => `bench-${String(i).padStart(2, '0')}`);
    for (const s of ids) await coord.call('POST', '/v1/sites', { id: s });
    const keys = new Map<string, SiteKeys>();
    for (const id of ids) keys.set(id, await ensureSiteKeys(join(stateRoot, id)));
    const pinned = new Map<string, PinnedSite>(ids.map((id) => {
      const p = pinsOf(id, keys.get(id)!);
      return [id, { stewardKeyThumbprint: p.stewardKeyThumbprint, keyAgreementKeyThumbprint: p.keyAgreementKeyThumbprint }];
    }));
    const clients = new Map(ids.map((id) => [id, new CoordinatorClient(coord.grpc)]));
    for (const id of ids) await clients.get(id)!.enroll(id, 'bench', 'bench', keys.get(id)!.keyAgreement.publicJwk);
    const { id: jobId } = await coord.call('POST', '/v1/jobs', { spec: {
      name: 'bench-he', features: Array.from({ length: FEATURES }, (_, i) => `f${i}`), label: 'y', classes: ['a', 'b'],
      model: { hidden: [HIDDEN] }, rounds: 1, minSites: sites, roundDeadlineSeconds: 900, sites: ids, standardization: 'none',
      encryption: { enabled: true, clipNorm: 1 },
    } });
    // The key ceremony: every steward signs the site list, then one site generates and wraps the key.
    const ceremonyStarted = performance.now();
    const tasks = new Map<string, Awaited<ReturnType<CoordinatorClient['pollTask']>>['task']>();
    while (tasks.size < sites) {
      for (const id of ids) {
        if (tasks.has(id)) continue;
        const client = clients.get(id)!;
        const task = (await client.pollTask(id, 100)).task;
        if (!task) continue;
        if (task.keyTaskJson) {
          await runKeyTask(jobId, JSON.parse(task.keyTaskJson) as KeyTask, {
            siteId: id, keys: keys.get(id)!, pinned, autoApprove: true, log,
            submitSignature: async (jws) => { await client.submitSiteListSignature(id, jobId, jws); },
            submitKeyMaterial: async (pp, w) => { await client.submitKeyMaterial(id, jobId, pp, w); },
          });
        } else {
          tasks.set(id, task);
        }
      }
    }
    const ceremonySeconds = (performance.now() - ceremonyStarted) / 1000;
    // Each site: its key (fetched, unwrapped, stored 0600), then its weighted, clipped, encrypted update.
    const uploads: Uint8Array[] = [];
    let encryptCpu = 0;
    let encryptWallMax = 0;
    for (const [i, id] of ids.entries()) {
      const task = tasks.get(id)!;
      const enc = JSON.parse(task.encryptionJson) as { epoch: number; paramSet: string; keyId: string; clipNorm: number; fracBits: number; maxSites: number; weight: number };
      const store = new JobKeyStore(join(stateRoot, id), id, keys.get(id)!);
      const client = clients.get(id)!;
      const { ctx, key } = await store.get(jobId, enc.epoch, enc.paramSet, enc.keyId, async () => {
        const k = await client.fetchJobKey(id, jobId);
        return { epoch: k.epoch, paramSet: k.paramSet, keyId: k.keyId, jwe: k.wrappedKey };
      });
      const delta = randomDelta(PARAMS, i + 1);
      const t = cpuSeconds(() => encodeEncryptedVector(encryptUpdate(ctx, key, delta, {
        weight: enc.weight, clip: enc.clipNorm, fracBits: enc.fracBits, maxSites: enc.maxSites })));
      encryptCpu += t.cpu;
      encryptWallMax = Math.max(encryptWallMax, t.wall);
      uploads.push(t.result);
    }
    const roundStarted = performance.now();
    await Promise.all(ids.map((id, i) => clients.get(id)!.submitUpdate({
      siteId: id, jobId, round: 1, submissionId: `he-${i}`, numSamples: 100 + i, baseModelId: tasks.get(id)!.modelId, attestation: '',
    }, uploads[i]!)));
    const uploadSeconds = (performance.now() - roundStarted) / 1000;
    await waitForRoundClosed(coord, jobId, 1);
    const serverSeconds = (performance.now() - roundStarted) / 1000;
    await new Promise((r) => setTimeout(r, 200));
    const peak = await coord.peakRssMiB();
    for (const c of clients.values()) c.close();
    const closed = coord.timings.find((t) => t.phase === 'round-closed' && t.encrypted)!;
    return {
      uploadBytes: uploads[0]!.byteLength, uploadSha: sha256Hex(uploads[0]!), ceremonySeconds, encryptCpuPerSite: encryptCpu / sites,
      encryptWallMax, uploadSeconds, serverSeconds, aggregateSeconds: closed.aggregateMs! / 1000, peak, database: coord.database,
    };
  } finally {
    await coord.stop();
    await rm(stateRoot, { recursive: true, force: true });
  }
}

const kernels = await runHeKernels({ params: PARAMS, sites: SITES, paramSetId: 'bfv-n4096-q60-t48-2x23', clip: 1, maxSites: Math.max(SITES, 3) });
const plain = await plaintextRound(SITES);
const enc = await encryptedRound(SITES);
const roundEncrypted = enc.encryptWallMax + enc.serverSeconds;
const roundPlain = plain.round_seconds;
const result = {
  sites: SITES,
  params: PARAMS,
  database: enc.database,
  param_set: 'bfv-n4096-q60-t48-2x23',
  upload_bytes_per_param: enc.uploadBytes / PARAMS,
  site_encrypt_params_per_s: PARAMS / enc.encryptCpuPerSite,
  coordinator_aggregate_params_per_s: kernels.coordinator_aggregate_params_per_s,
  coordinator_aggregate_params_per_s_in_round: (PARAMS * SITES) / enc.aggregateSeconds,
  round_seconds_encrypted: roundEncrypted,
  round_seconds_plaintext: roundPlain,
  round_overhead: roundEncrypted / roundPlain,
  key_ceremony_seconds: enc.ceremonySeconds,
  coordinator_peak_rss_mib_encrypted: enc.peak,
  coordinator_peak_rss_mib_plaintext: plain.coordinator_peak_rss_mib,
  kernels,
};
if (json) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  printTable(`encrypted vs plaintext round: ${SITES} sites, ${PARAMS.toLocaleString('en')} parameters, ${enc.database}, ${result.param_set}`, [
    ['upload_bytes_per_param', result.upload_bytes_per_param.toFixed(2), `float32 plaintext: 4.00 (${(result.upload_bytes_per_param / 4).toFixed(2)}x); target <= 8`],
    ['site_encrypt_params_per_s (per core, CPU time)', result.site_encrypt_params_per_s.toExponential(2), 'target >= 2e6'],
    ['coordinator_aggregate_params_per_s (per core, incl. decode+validation)', result.coordinator_aggregate_params_per_s.toExponential(2), 'target >= 20e6 (kernel, CPU time)'],
    ['  same, inside the real round (blob reads, digests, wall time)', result.coordinator_aggregate_params_per_s_in_round.toExponential(2), ''],
    ['round_seconds_plaintext (uploads -> closed)', roundPlain.toFixed(2), 'baseline'],
    ['round_seconds_encrypted (slowest site encrypt + uploads -> closed)', roundEncrypted.toFixed(2), `${result.round_overhead.toFixed(2)}x plaintext`],
    ['round_overhead', result.round_overhead.toFixed(2), 'target <= 1.5; NVFlare reports 2.7'],
    ['key ceremony (once per job)', `${enc.ceremonySeconds.toFixed(2)} s`, ''],
    ['coordinator peak memory, encrypted / plaintext', `${enc.peak.toFixed(0)} / ${plain.coordinator_peak_rss_mib.toFixed(0)} MiB`, ''],
  ]);
}
