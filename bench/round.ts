// A plaintext round at scale: 10 sites, a ~1M-parameter model, over loopback gRPC against a real
// coordinator process. Prints where the time goes (transfer, aggregation, persistence) and the
// coordinator's peak memory, next to baselines measured in the same run (raw loopback TCP for the
// same bytes; an in-memory weighted sum for the same vectors). The baseline the encrypted round
// (npm run bench:he) is compared against.
//   node bench/round.ts [--sites N] [--json]        (MEDFED_BENCH_PG=postgres://... to use PostgreSQL)
import { createServer, connect } from 'node:net';
import { encodeVector, parameterCount } from '@medfed/proto';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { printTable, startBenchCoordinator, waitForRoundClosed } from './lib/coordinator-process.ts';
import { benchRecovery } from './recovery.ts';
import { benchBlobStores } from './blob-store.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const SITES = Number(args[args.indexOf('--sites') + 1]) || 10;
const FEATURES = 1000;
const HIDDEN = 998;
const CLASSES = 2;
const PARAMS = parameterCount(FEATURES, [HIDDEN], CLASSES);

export function randomDelta(params: number, seed: number, scale = 0.01): Float32Array {
  const out = new Float32Array(params);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < params; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out[i] = (x / 2 ** 32 - 0.5) * scale;
  }
  return out;
}

/** Baseline: the same bytes over a raw loopback TCP socket, all sites at once. */
async function rawTcpSeconds(payloads: Uint8Array[]): Promise<number> {
  const total = payloads.reduce((s, p) => s + p.byteLength, 0);
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const server = createServer((sock) => sock.on('data', (d) => { received += d.byteLength; if (received >= total) done(); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const started = performance.now();
  for (const p of payloads) { const s = connect(port, '127.0.0.1', () => s.end(p)); }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  server.close();
  return seconds;
}

/** Baseline: the weighted sum itself, in memory, no I/O or decoding. */
function inMemorySumSeconds(deltas: Float32Array[]): number {
  const started = performance.now();
  const sum = new Float64Array(PARAMS);
  for (const [k, d] of deltas.entries()) for (let i = 0; i < PARAMS; i++) sum[i]! += (k + 1) * d[i]!;
  return (performance.now() - started) / 1000;
}

export async function plaintextRound(sites: number) {
  const coord = await startBenchCoordinator();
  try {
    const ids = Array.from({ length: sites }, (_, i) => `bench-${String(i).padStart(2, '0')}`);
    for (const s of ids) await coord.call('POST', '/v1/sites', { id: s });
    const deltas = ids.map((_, i) => randomDelta(PARAMS, i + 1));
    const payloads = deltas.map((d) => encodeVector(d));
    const clients = ids.map(() => new CoordinatorClient(coord.grpc));
    for (const [i, s] of ids.entries()) await clients[i]!.enroll(s, 'bench', 'bench');
    const { id: jobId } = await coord.call('POST', '/v1/jobs', { spec: {
      name: 'bench-round', features: Array.from({ length: FEATURES }, (_, i) => `f${i}`), label: 'y', classes: ['a', 'b'],
      model: { hidden: [HIDDEN] }, rounds: 1, minSites: sites, roundDeadlineSeconds: 600, sites: ids, standardization: 'none',
      encryption: { enabled: false },
    } });
    const tasks = await Promise.all(ids.map((s, i) => clients[i]!.pollTask(s, 5000).then((r) => r.task!)));
    const dlStarted = performance.now();
    await Promise.all(tasks.map((t, i) => clients[i]!.downloadModel(ids[i]!, jobId, t.modelId, t.modelSha256)));
    const downloadSeconds = (performance.now() - dlStarted) / 1000;
    const roundStarted = performance.now();
    await Promise.all(tasks.map((t, i) => clients[i]!.submitUpdate(
      { siteId: ids[i]!, jobId, round: 1, submissionId: `bench-${i}`, numSamples: i + 1, baseModelId: t.modelId, attestation: '' }, payloads[i]!)));
    const uploadSeconds = (performance.now() - roundStarted) / 1000;
    await waitForRoundClosed(coord, jobId, 1);
    const roundSeconds = (performance.now() - roundStarted) / 1000;
    await new Promise((r) => setTimeout(r, 200)); // let the last log lines arrive
    const peak = await coord.peakRssMiB();
    clients.forEach((c) => c.close());
    const closed = coord.timings.find((t) => t.phase === 'round-closed')!;
    const persistUpdates = coord.timings.filter((t) => t.phase === 'persist-update').reduce((s, t) => s + (t.ms ?? 0), 0) / 1000;
    return {
      sites, params: PARAMS, database: coord.database, update_bytes: payloads[0]!.byteLength,
      round_seconds: roundSeconds, download_seconds: downloadSeconds, upload_seconds: uploadSeconds,
      aggregation_seconds: closed.aggregateMs! / 1000,
      persistence_seconds: persistUpdates + closed.persistMs! / 1000,
      persistence_updates_seconds: persistUpdates, persistence_model_seconds: closed.persistMs! / 1000,
      coordinator_peak_rss_mib: peak, deltas, payloads,
    };
  } finally {
    await coord.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await plaintextRound(SITES);
  const tcp = await rawTcpSeconds(r.payloads);
  const sumOnly = inMemorySumSeconds(r.deltas);
  const { deltas: _d, payloads: _p, ...numbers } = r;
  // Crash safety (issue: a federation that survives crashes): takeover by a standby, and the payload stores.
  const recovery = await benchRecovery();
  const blobs = await benchBlobStores({ payloadMiB: 32, repetitions: 3 });
  const result = {
    ...numbers, upload_baseline_tcp_seconds: tcp, aggregation_baseline_in_memory_seconds: sumOnly,
    recovery_seconds: recovery.recovery_seconds, recovery_takeover_seconds: recovery.takeover_seconds, recovery_lease_seconds: recovery.lease_seconds,
    blob_pg_write_mb_s: blobs.postgres.put.medianMBps, blob_pg_read_mb_s: blobs.postgres.get.medianMBps,
    blob_file_write_mb_s: blobs.file.put.medianMBps, blob_file_read_mb_s: blobs.file.get.medianMBps,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    printTable(`plaintext round: ${SITES} sites, ${PARAMS.toLocaleString('en')} parameters, ${r.database}`, [
      ['round wall time (uploads start -> round closed)', `${r.round_seconds.toFixed(2)} s`, ''],
      [`download (${SITES} x ${(r.update_bytes / 2 ** 20).toFixed(1)} MiB, concurrent)`, `${r.download_seconds.toFixed(2)} s`, ''],
      ['transfer: upload, concurrent', `${r.upload_seconds.toFixed(2)} s`, `${(r.upload_seconds / tcp).toFixed(1)}x raw TCP (${tcp.toFixed(3)} s)`],
      ['aggregation (load, verify, decode, FedAvg)', `${r.aggregation_seconds.toFixed(2)} s`, `${(r.aggregation_seconds / sumOnly).toFixed(1)}x in-memory sum (${sumOnly.toFixed(3)} s)`],
      ['persistence: updates (blob fsync + rows + audit)', `${r.persistence_updates_seconds.toFixed(2)} s`, 'summed over sites'],
      ['persistence: new model (blob fsync + rows + audit)', `${r.persistence_model_seconds.toFixed(2)} s`, ''],
      ['coordinator peak memory (VmHWM)', `${r.coordinator_peak_rss_mib.toFixed(0)} MiB`, `${(r.coordinator_peak_rss_mib / ((SITES * r.update_bytes) / 2 ** 20)).toFixed(2)}x all updates' bytes`],
      ['recovery: SIGKILL of the leader -> standby accepts the retried upload', `${recovery.recovery_seconds.toFixed(2)} s`, `target <= 15 s; lease ${recovery.lease_seconds} s is the floor`],
      ['payload store write, PostgreSQL (PgBlobStore)', `${blobs.postgres.put.medianMBps.toFixed(0)} MB/s`, `${(blobs.postgres.put.medianMBps / blobs.file.put.medianMBps).toFixed(2)}x files (${blobs.file.put.medianMBps.toFixed(0)} MB/s)`],
      ['payload store read, PostgreSQL (digest checked)', `${blobs.postgres.get.medianMBps.toFixed(0)} MB/s`, `${(blobs.postgres.get.medianMBps / blobs.file.get.medianMBps).toFixed(2)}x files (${blobs.file.get.medianMBps.toFixed(0)} MB/s)`],
    ]);
  }
}
