import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, type CommanderError } from 'commander';
import { MedfedError } from '@medfed/proto';
import {
  BUNDLE_FILES, parseInclusionProof, verifyModelArtifact, verifyModelBundle, writeModelBundle, type VerifiedModelBundle, type VerifyModelBundleOptions,
} from '@medfed/proto/bundle/index';
import { MODEL_ARTIFACT_KINDS, parseJwks, type ManifestJwks } from '@medfed/proto/manifest/index';
import { toBase64 } from '@medfed/proto/tlog/index';
import type { TrustBundle } from '@medfed/proto/trust/index';
import { trustBundleAnchors } from '@medfed/node-agent/verification/trust-bundle';
import { ExitCode, ORIGIN_UNVERIFIED_EXIT } from '../exit-codes.js';
import { RestClient, type RestCredential } from '../federation/rest-client.js';
import { connectionOptions, resolveConnection, type ConnectionFlags } from '../coordinator-connection.js';

/**
 * `medfed model export`: writes the offline bundle of a published artifact, fetched over REST from a
 * running coordinator (GET /v1/jobs/:id/artifacts...). Exit 0 written, 2 usage, 3 an unreadable
 * CA file, 5 coordinator unreachable, 6 no usable credential or credential refused, 1 anything else
 * (the connection flags and their codes: coordinator-connection.ts).
 *
 * `medfed model verify DIR`: checks an offline model bundle (model.bin, manifest.jws,
 * checkpoint.txt, inclusion-proof.json, jwks.json, checkpoint.vkey) before anyone loads the model.
 * Exit 0 verified, 7 refused (the code of the failed check is printed), 2 usage, 3 an unreadable
 * pinned key, trust bundle (--trust) or state file.
 */

export interface ModelIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly exit: (code: number) => void;
}

const processIo: ModelIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => {
    process.exitCode = code;
  },
};

export interface ModelVerifyCliOptions {
  readonly job?: string;
  readonly round?: string;
  readonly blob?: string;
  readonly jwks?: string;
  readonly logKey?: string;
  readonly trust?: string;
  readonly requireCosignatures?: string;
  readonly witnessKey: readonly string[];
  readonly previousCheckpoint?: string;
  readonly consistencyProof?: string;
  readonly json?: boolean;
}

export class UsageError extends Error {}
export class ConfigError extends Error {}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export interface ModelExportCliOptions extends Readonly<ConnectionFlags> {
  readonly job?: string;
  readonly round?: string;
  readonly kind?: string;
  readonly release?: string;
  readonly out?: string;
  readonly overwrite?: boolean;
}

export function register(program: Command, io: ModelIo = processIo): void {
  const model = program.command('model').description('export and verify model bundles before loading them');
  connectionOptions(model.command('export'))
    .description('write the offline bundle of a published model (model.bin, manifest.jws, checkpoint.txt, inclusion-proof.json, jwks.json, checkpoint.vkey) from a running coordinator')
    .option('--job <id>', 'the job (with --round)')
    .option('--round <n>', 'the round of the artifact')
    .option('--kind <kind>', 'which artifact of that round: weights (plaintext model), update-sum (encrypted round sum) or stats-sum; default: the only one, or the model')
    .option('--release <id>', 'a released plaintext model (medfed model release ls): its bundle instead of a round artifact')
    .option('--out <dir>', 'bundle directory to create (required; must be empty)')
    .option('--overwrite', 'replace the files of an existing bundle')
    .exitOverride((error: CommanderError) => {
      io.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
      throw error;
    })
    .action(async (opts: ModelExportCliOptions) => {
      io.exit(await runModelExport(opts, io));
    });
  model
    .command('verify')
    .description('verify an offline model bundle: manifest signature, model digest, log inclusion, checkpoint signature, cosignatures, consistency; exit 9 means no trust anchors were pinned (origin unverified)')
    .argument('<dir>', 'bundle directory')
    .option('--job <id>', 'the job the model must belong to (with --round)')
    .option('--round <n>', 'the round the model must belong to; an older round is refused as a replay (with --job)')
    .option('--blob <name>', "which manifest blob model.bin is (default: the manifest's only blob)")
    .option('--jwks <file>', "pinned manifest keys (JWKS); default: the bundle's jwks.json, which proves integrity, not origin")
    .option('--log-key <file>', "pinned log verifier key (<name>+<hex id>+<base64>); default: the bundle's checkpoint.vkey")
    .option('--trust <dir>', "the coordinator's trust bundle (medfed trust export, or an agent's pinned <stateDir>/trust): its manifest keys and log key instead of --jwks and --log-key")
    .option('--require-cosignatures <k>', 'refuse unless k of the --witness-key witnesses cosigned the checkpoint', '0')
    .option('--witness-key <file>', 'a witness verifier key file (repeatable)', collect, [] as string[])
    .option('--previous-checkpoint <file>', 'the last checkpoint accepted from this log: refuse rollbacks and forks')
    .option('--consistency-proof <file>', 'JSON array of hex hashes proving the bundle checkpoint extends --previous-checkpoint')
    .option('--json', 'print the result as one JSON object')
    .exitOverride((error: CommanderError) => {
      io.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
      throw error;
    })
    .action(async (dir: string, opts: ModelVerifyCliOptions) => {
      io.exit(await runModelVerify(dir, opts, io));
    });
}

/** Runs `medfed model export`; resolves with the exit code. */
export async function runModelExport(opts: ModelExportCliOptions, io: ModelIo = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    if (opts.release !== undefined) return await runReleaseExport(opts, io, env);
    if (!opts.job || opts.round === undefined) throw new UsageError('--job and --round are required');
    if (!/^\d{1,7}$/.test(opts.round)) throw new UsageError(`--round must be a non-negative integer, not ${JSON.stringify(opts.round)}`);
    if (opts.kind !== undefined && !['weights', 'update-sum', 'stats-sum'].includes(opts.kind)) throw new UsageError(`--kind must be weights, update-sum or stats-sum, not ${JSON.stringify(opts.kind)}`);
    if (!opts.out) throw new UsageError('--out DIR is required');
    const { base, ca, credential } = await resolveConnection(opts, env);
    const written = await exportModelBundle({ coordinator: base, credential, ca, job: opts.job, round: Number(opts.round), kind: opts.kind, out: opts.out, overwrite: opts.overwrite === true });
    io.stdout(`wrote ${opts.out}: ${written.kind} of job ${opts.job} round ${opts.round} (${written.byteSize} bytes, SHA-256 ${written.sha256})${written.encrypted ? '; it is ENCRYPTED under the job key: the release workflow turns it into a plaintext model' : ''}\ncheck it with: medfed model verify ${opts.out} --job ${opts.job} --round ${opts.round}\n`);
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`medfed model export: ${err.message}\n`);
      return ExitCode.USAGE;
    }
    const code = (err as { code?: unknown; exitCode?: unknown }).code;
    io.stderr(`medfed model export: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}\n`);
    const exit = (err as { exitCode?: unknown }).exitCode;
    return typeof exit === 'number' ? exit : ExitCode.FAILURE;
  }
}

/** `medfed model export --release ID --out DIR`: the released model's bundle. */
async function runReleaseExport(opts: ModelExportCliOptions, io: ModelIo, env: NodeJS.ProcessEnv): Promise<number> {
  if (opts.job !== undefined || opts.round !== undefined || opts.kind !== undefined) throw new UsageError('--release names the model by itself: drop --job, --round and --kind');
  if (!opts.release || !/^[A-Za-z0-9._-]{1,128}$/.test(opts.release)) throw new UsageError('--release needs a release id (medfed model release ls)');
  if (!opts.out) throw new UsageError('--out DIR is required');
  const { base, ca, credential } = await resolveConnection(opts, env);
  const written = await exportReleasedModelBundle({ coordinator: base, credential, ca, release: opts.release, out: opts.out, overwrite: opts.overwrite === true });
  io.stdout(`wrote ${opts.out}: released plaintext model of job ${written.job} round ${written.round} (${written.byteSize} bytes, SHA-256 ${written.sha256}), `
    + `${written.decryptingSite ? `decrypted by ${written.decryptingSite}, countersigned by ${written.countersigningSite}` : 'a plaintext job\'s model, released on approval'}\ncheck it with: medfed model verify ${opts.out} --job ${written.job} --round ${written.round}\n`);
  return ExitCode.OK;
}

/** A release as GET /v1/releases/:id answers (the fields the CLI uses). */
export interface ReleaseSummary {
  id: string; job: string; round: number; state: string; reason: string; requestedBy: string;
  quorum: { sites: string[]; siteApprovals: number; compliance: number };
  approvals: { capacity: string; approver: string; role: string; site: string | null }[];
  sitesApproved: string[]; complianceApprovals: number; quorumReached: boolean;
  decryptingSite: string | null; countersigningSite: string | null;
  sha256: string | null; byteSize: number | null; modelId: string | null; manifestDigest: string | null; leafIndex: number | null;
  failure: { code: string; message: string } | null;
}

export interface ReleaseExportRequest {
  readonly coordinator: string;
  readonly credential: RestCredential;
  readonly ca?: Buffer | undefined;
  readonly release: string;
  readonly out: string;
  readonly overwrite?: boolean;
}

/**
 * Fetches a released model's evidence and bytes and writes the offline bundle. Before anything is
 * written the bytes are checked against the `released-model` manifest and the log, against the
 * digest both sites signed, and as a plaintext float32 vector.
 */
export async function exportReleasedModelBundle(req: ReleaseExportRequest): Promise<ReleaseSummary & { sha256: string; byteSize: number }> {
  const rest = new RestClient(req.coordinator, req.credential, { ca: req.ca });
  const release = await rest.call<ReleaseSummary>('GET', `/v1/releases/${encodeURIComponent(req.release)}`);
  if (release.state !== 'released' || !release.modelId || !release.sha256) {
    throw new MedfedError('RELEASE_NOT_RELEASED', `release ${release.id} is ${release.state}${release.failure ? ` (${release.failure.code}: ${release.failure.message})` : ''}; only a released model can be exported`);
  }
  const job = encodeURIComponent(release.job);
  const evidence = await rest.call<ArtifactEvidence>('GET', `/v1/jobs/${job}/artifacts/${encodeURIComponent(release.modelId)}/evidence`);
  const model = await fetchBytes(rest, `/v1/jobs/${job}/artifacts/${encodeURIComponent(release.modelId)}/blob`);
  const parts = {
    model, manifestJws: evidence.manifestJws, checkpoint: evidence.checkpoint,
    inclusionProof: parseInclusionProof(evidence.inclusionProof), jwks: parseJwks(evidence.jwks), checkpointVerifierKey: evidence.checkpointKey,
  };
  const verified = await verifyModelArtifact({
    bytes: model, manifestJws: parts.manifestJws, checkpoint: parts.checkpoint, inclusionProof: parts.inclusionProof,
    trustedKeys: parts.jwks, checkpointVerifierKey: parts.checkpointVerifierKey,
    expected: { job: release.job, round: release.round, kinds: ['released-model'] },
  });
  if (verified.blob.sha256 !== release.sha256) {
    throw new MedfedError('ARTIFACT_DIGEST_MISMATCH', `the released model's manifest names SHA-256 ${verified.blob.sha256}, the sites signed ${release.sha256}`);
  }
  checkPlaintext(model, verified.blob.size);
  await writeModelBundle(req.out, parts, { overwrite: req.overwrite === true });
  return { ...release, sha256: release.sha256, byteSize: model.byteLength };
}

/**
 * A released model is plaintext: float32 little-endian values, all finite, of the size the manifest
 * names. Returns the parameter count; refuses with RELEASE_PLAINTEXT_INVALID otherwise.
 */
function checkPlaintext(bytes: Uint8Array, size: number): number {
  const fail = (why: string): never => { throw new MedfedError('RELEASE_PLAINTEXT_INVALID', `the released model is not a plaintext float32 model: ${why}`); };
  if (bytes.byteLength !== size) fail(`it has ${bytes.byteLength} bytes, the manifest names ${size}`);
  if (bytes.byteLength === 0 || bytes.byteLength % 4 !== 0) fail(`${bytes.byteLength} bytes is not a whole number of float32 values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i += 4) {
    if (!Number.isFinite(view.getFloat32(i, true))) fail(`value ${i / 4} is not finite`);
  }
  return bytes.byteLength / 4;
}

interface ArtifactSummary { modelId: string; round: number; kind: string; sha256: string; byteSize: number; encrypted: boolean }
interface ArtifactEvidence extends ArtifactSummary {
  manifestJws: string; checkpoint: string; inclusionProof: unknown; jwks: unknown; checkpointKey: string;
}

export interface ModelExportRequest {
  readonly coordinator: string;
  readonly credential: RestCredential;
  readonly ca?: Buffer | undefined;
  readonly job: string;
  readonly round: number;
  readonly kind?: string | undefined;
  readonly out: string;
  readonly overwrite?: boolean;
}

/**
 * Fetches a published artifact's evidence and bytes and writes the offline bundle. The bytes are
 * checked against the manifest before anything is written, so a bundle on disk was verifiable when
 * it was made (with the coordinator's own keys; `medfed model verify` pins them).
 */
export async function exportModelBundle(req: ModelExportRequest): Promise<ArtifactSummary> {
  const rest = new RestClient(req.coordinator, req.credential, { ca: req.ca });
  const job = encodeURIComponent(req.job);
  const { artifacts } = await rest.call<{ artifacts: ArtifactSummary[] }>('GET', `/v1/jobs/${job}/artifacts?round=${req.round}${req.kind ? `&kind=${req.kind}` : ''}`);
  const chosen = artifacts.length === 1 ? artifacts[0] : artifacts.find((a) => a.kind === 'weights' || a.kind === 'update-sum');
  if (!chosen) {
    throw new MedfedError('PUBLISH_ARTIFACT_UNKNOWN', artifacts.length === 0
      ? `job ${req.job} has no artifact of round ${req.round}${req.kind ? ` and kind ${req.kind}` : ''}`
      : `job ${req.job} round ${req.round} has ${artifacts.map((a) => a.kind).join(' and ')}: choose one with --kind`);
  }
  const evidence = await rest.call<ArtifactEvidence>('GET', `/v1/jobs/${job}/artifacts/${encodeURIComponent(chosen.modelId)}/evidence`);
  const model = await fetchBytes(rest, `/v1/jobs/${job}/artifacts/${encodeURIComponent(chosen.modelId)}/blob`);
  const parts = {
    model, manifestJws: evidence.manifestJws, checkpoint: evidence.checkpoint,
    inclusionProof: parseInclusionProof(evidence.inclusionProof), jwks: parseJwks(evidence.jwks), checkpointVerifierKey: evidence.checkpointKey,
  };
  await verifyModelArtifact({
    bytes: model, manifestJws: parts.manifestJws, checkpoint: parts.checkpoint, inclusionProof: parts.inclusionProof,
    trustedKeys: parts.jwks, checkpointVerifierKey: parts.checkpointVerifierKey,
    expected: { job: req.job, round: req.round, kinds: MODEL_ARTIFACT_KINDS },
  });
  await writeModelBundle(req.out, parts, { overwrite: req.overwrite === true });
  return chosen;
}

/** An artifact's bytes; a refusal or no answer throws with the connection module's codes. */
async function fetchBytes(rest: RestClient, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await rest.open('GET', path, { accept: 'application/octet-stream' })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs `medfed model verify`; resolves with the exit code. */
export async function runModelVerify(dir: string, opts: ModelVerifyCliOptions, io: ModelIo = processIo): Promise<number> {
  let options: VerifyModelBundleOptions;
  let trust: TrustBundle | undefined;
  try {
    ({ options, trust } = await buildOptions(dir, opts));
  } catch (err) {
    io.stderr(`medfed model verify: ${(err as Error).message}\n`);
    return err instanceof UsageError ? ExitCode.USAGE : ExitCode.CONFIG;
  }
  try {
    const verified = await verifyModelBundle(dir, options);
    if (verified.manifest.kind === 'released-model') {
      // A released model must be what its name says: plaintext float32 weights, every value finite.
      checkPlaintext(await readFile(join(dir, BUNDLE_FILES.model)), verified.blob.size);
    }
    // Fail closed: keys taken from the bundle prove only that the bundle is self-consistent, not who made it.
    const unpinned = verified.anchors.manifestKeys === 'bundle' || verified.anchors.logKey === 'bundle';
    io.stdout(opts.json
      ? `${JSON.stringify({ ...toJson(verified, opts), origin: unpinned ? 'unverified' : 'pinned', ...(trust ? { trustBundle: trustOf(trust) } : {}) })}\n`
      : describe(verified, opts, trust));
    if (unpinned) {
      io.stderr('medfed model verify: origin unverified: the bundle is intact, but its trust anchors were taken from the bundle itself, so nothing shows '
        + 'that the coordinator made it; pin them with --trust DIR (the coordinator\'s trust bundle), or --jwks and --log-key (exit 9)\n');
      return ORIGIN_UNVERIFIED_EXIT;
    }
    return ExitCode.OK;
  } catch (err) {
    if (!(err instanceof MedfedError)) throw err;
    io[opts.json ? 'stdout' : 'stderr'](opts.json
      ? `${JSON.stringify({ ok: false, code: err.code, message: err.message })}\n`
      : `medfed model verify: REFUSED ${err.code}: ${err.message}\n`);
    return ExitCode.VERIFY_FAILED;
  }
}

async function buildOptions(dir: string, opts: ModelVerifyCliOptions): Promise<{ options: VerifyModelBundleOptions; trust: TrustBundle | undefined }> {
  if ((opts.job === undefined) !== (opts.round === undefined)) throw new UsageError('--job and --round go together');
  if (opts.round !== undefined && !/^\d{1,7}$/.test(opts.round)) throw new UsageError(`--round must be a non-negative integer, not ${JSON.stringify(opts.round)}`);
  const required = opts.requireCosignatures ?? '0';
  if (!/^\d{1,3}$/.test(required)) throw new UsageError(`--require-cosignatures must be a non-negative integer, not ${JSON.stringify(required)}`);
  if (Number(required) > opts.witnessKey.length) {
    throw new UsageError(`--require-cosignatures ${required} needs at least ${required} --witness-key files (got ${opts.witnessKey.length})`);
  }
  if (opts.consistencyProof !== undefined && opts.previousCheckpoint === undefined) throw new UsageError('--consistency-proof needs --previous-checkpoint');
  if (opts.trust !== undefined && (opts.jwks !== undefined || opts.logKey !== undefined)) throw new UsageError('--trust gives the manifest keys and the log key: drop --jwks and --log-key');

  const pinned = opts.trust === undefined ? undefined : await trustAnchors(opts.trust);
  const jwks = pinned?.jwks ?? (opts.jwks === undefined ? undefined : parseJwksFile(await readConfig(opts.jwks, '--jwks'), opts.jwks));
  const logKey = pinned?.checkpointKey ?? (opts.logKey === undefined ? undefined : (await readConfig(opts.logKey, '--log-key')).trim());
  const witnessKeys = await Promise.all(opts.witnessKey.map(async (f) => (await readConfig(f, '--witness-key')).split('\n').map((l) => l.trim()).filter(Boolean)));
  const previousCheckpoint = opts.previousCheckpoint === undefined ? undefined : await readConfig(opts.previousCheckpoint, '--previous-checkpoint');
  const consistencyProof = opts.consistencyProof === undefined ? undefined : parseHashList(await readConfig(opts.consistencyProof, '--consistency-proof'), opts.consistencyProof);

  const options: VerifyModelBundleOptions = {
    // Without --job/--round only the bundle's own job and round can be checked against; say so in the output.
    expected: opts.job !== undefined ? { job: opts.job, round: Number(opts.round), ...(opts.blob ? { blob: opts.blob } : {}) } : await expectedFromBundle(dir, opts),
    ...(jwks ? { trustedKeys: jwks } : {}),
    ...(logKey ? { checkpointVerifierKey: logKey } : {}),
    witnessKeys: witnessKeys.flat(),
    requiredCosignatures: Number(required),
    ...(previousCheckpoint !== undefined ? { previousCheckpoint } : {}),
    ...(consistencyProof ? { consistencyProof } : {}),
  };
  return { options, trust: pinned?.bundle };
}

/** The anchors of a trust bundle directory; an unreadable or damaged one is a configuration error. */
async function trustAnchors(dir: string): Promise<Awaited<ReturnType<typeof trustBundleAnchors>>> {
  try {
    return await trustBundleAnchors(dir);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConfigError(`--trust ${dir}: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}`);
  }
}

function trustOf(t: TrustBundle) {
  return { dir: t.dir, version: t.manifest.version, fingerprint: t.fingerprint, coordinator: t.manifest.coordinator.rest };
}

async function expectedFromBundle(dir: string, opts: ModelVerifyCliOptions): Promise<VerifyModelBundleOptions['expected']> {
  // The payload is read unverified only to name what is then verified; the signature check still follows.
  try {
    const jws = (await readFile(join(dir, BUNDLE_FILES.manifest), 'ascii')).trim();
    const payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { job?: unknown; round?: unknown };
    if (typeof payload.job === 'string' && typeof payload.round === 'number') {
      return { job: payload.job, round: payload.round, ...(opts.blob ? { blob: opts.blob } : {}) };
    }
  } catch {
    // fall through: verification below reports the precise problem
  }
  return { job: '', round: 0 };
}

async function readConfig(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${flag} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function parseJwksFile(text: string, file: string): ManifestJwks {
  try {
    return parseJwks(JSON.parse(text));
  } catch (err) {
    throw new ConfigError(`--jwks ${file}: ${(err as Error).message}`);
  }
}

function parseHashList(text: string, file: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`--consistency-proof ${file} is not JSON`);
  }
  const hashes = Array.isArray(value) ? value : (value as { hashes?: unknown } | null)?.hashes;
  if (!Array.isArray(hashes) || !hashes.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) {
    throw new ConfigError(`--consistency-proof ${file} must be a JSON array of 64-digit lowercase hex hashes (or {"hashes": [...]})`);
  }
  return hashes as string[];
}

function toJson(v: VerifiedModelBundle, opts: ModelVerifyCliOptions) {
  return {
    ok: true,
    job: v.manifest.job,
    round: v.manifest.round,
    kind: v.manifest.kind,
    jobRoundChecked: opts.job !== undefined,
    blob: v.blob,
    kid: v.kid,
    manifestDigest: v.manifestDigest,
    leafIndex: v.leafIndex,
    checkpoint: { origin: v.checkpoint.origin, size: v.checkpoint.size, rootHash: toBase64(v.checkpoint.rootHash) },
    cosigners: v.cosignatures.map((c) => ({ witness: c.witness, timestamp: c.timestamp })),
    anchors: v.anchors,
    anchorDigests: v.anchorDigests,
    checkpointNote: v.checkpointNote,
  };
}

function describe(v: VerifiedModelBundle, opts: ModelVerifyCliOptions, trust: TrustBundle | undefined): string {
  return [
    `verified ${v.blob.name}: ${v.blob.size} bytes, SHA-256 ${v.blob.sha256}`,
    `  manifest   ${v.manifest.kind} for job ${v.manifest.job} round ${v.manifest.round}${opts.job === undefined ? ' (job and round NOT checked: pass --job and --round)' : ''}, signed by ${v.kid}`,
    `  log        ${v.checkpoint.origin}: leaf ${v.leafIndex} of ${v.checkpoint.size}, root ${toBase64(v.checkpoint.rootHash)}`,
    ...(v.manifest.kind === 'released-model' ? [`  content    plaintext float32 model, ${v.blob.size / 4} parameters, released through the release workflow`] : []),
    `  witnesses  ${v.cosignatures.length === 0 ? 'none required' : v.cosignatures.map((c) => c.witness).join(', ')}`,
    `  history    ${opts.previousCheckpoint ? 'consistent with --previous-checkpoint' : 'NOT checked (no --previous-checkpoint)'}`,
    `  anchors    manifest keys ${v.anchors.manifestKeys} (jwks.json SHA-256 ${v.anchorDigests.jwks}), log key ${v.anchors.logKey}`,
    ...(trust ? [`  trust      bundle version ${trust.manifest.version} of ${trust.manifest.coordinator.rest}, fingerprint ${trust.fingerprint}`] : []),
    '',
  ].join('\n');
}
