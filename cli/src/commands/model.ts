import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, type CommanderError } from 'commander';
import { MedfedError } from '@medfed/proto';
import { BUNDLE_FILES, verifyModelBundle, type VerifiedModelBundle, type VerifyModelBundleOptions } from '@medfed/proto/bundle/index';
import { parseJwks, type ManifestJwks } from '@medfed/proto/manifest/index';
import { toBase64 } from '@medfed/proto/tlog/index';
import { ExitCode } from '../exit-codes.js';

/**
 * `medfed model verify DIR`: checks an offline model bundle (model.bin, manifest.jws,
 * checkpoint.txt, inclusion-proof.json, jwks.json, checkpoint.vkey) before anyone loads the model.
 * Exit 0 verified, 7 refused (the code of the failed check is printed), 2 usage, 3 an unreadable
 * pinned key or state file.
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
  readonly requireCosignatures?: string;
  readonly witnessKey: readonly string[];
  readonly previousCheckpoint?: string;
  readonly consistencyProof?: string;
  readonly json?: boolean;
}

class UsageError extends Error {}
class ConfigError extends Error {}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command, io: ModelIo = processIo): void {
  const model = program.command('model').description('verify model bundles before loading them');
  model
    .command('verify')
    .description('verify an offline model bundle: manifest signature, model digest, log inclusion, checkpoint signature, cosignatures, consistency')
    .argument('<dir>', 'bundle directory')
    .option('--job <id>', 'the job the model must belong to (with --round)')
    .option('--round <n>', 'the round the model must belong to; an older round is refused as a replay (with --job)')
    .option('--blob <name>', "which manifest blob model.bin is (default: the manifest's only blob)")
    .option('--jwks <file>', "pinned manifest keys (JWKS); default: the bundle's jwks.json, which proves integrity, not origin")
    .option('--log-key <file>', "pinned log verifier key (<name>+<hex id>+<base64>); default: the bundle's checkpoint.vkey")
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

/** Runs `medfed model verify`; resolves with the exit code. */
export async function runModelVerify(dir: string, opts: ModelVerifyCliOptions, io: ModelIo = processIo): Promise<number> {
  let options: VerifyModelBundleOptions;
  try {
    options = await buildOptions(dir, opts);
  } catch (err) {
    io.stderr(`medfed model verify: ${(err as Error).message}\n`);
    return err instanceof UsageError ? ExitCode.USAGE : ExitCode.CONFIG;
  }
  try {
    const verified = await verifyModelBundle(dir, options);
    io.stdout(opts.json ? `${JSON.stringify(toJson(verified, opts))}\n` : describe(verified, opts));
    if (!opts.json && (verified.anchors.manifestKeys === 'bundle' || verified.anchors.logKey === 'bundle')) {
      io.stderr('medfed model verify: warning: trust anchors were taken from the bundle itself; pin them with --jwks and --log-key\n');
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

async function buildOptions(dir: string, opts: ModelVerifyCliOptions): Promise<VerifyModelBundleOptions> {
  if ((opts.job === undefined) !== (opts.round === undefined)) throw new UsageError('--job and --round go together');
  if (opts.round !== undefined && !/^\d{1,7}$/.test(opts.round)) throw new UsageError(`--round must be a non-negative integer, not ${JSON.stringify(opts.round)}`);
  const required = opts.requireCosignatures ?? '0';
  if (!/^\d{1,3}$/.test(required)) throw new UsageError(`--require-cosignatures must be a non-negative integer, not ${JSON.stringify(required)}`);
  if (Number(required) > opts.witnessKey.length) {
    throw new UsageError(`--require-cosignatures ${required} needs at least ${required} --witness-key files (got ${opts.witnessKey.length})`);
  }
  if (opts.consistencyProof !== undefined && opts.previousCheckpoint === undefined) throw new UsageError('--consistency-proof needs --previous-checkpoint');

  const jwks = opts.jwks === undefined ? undefined : parseJwksFile(await readConfig(opts.jwks, '--jwks'), opts.jwks);
  const logKey = opts.logKey === undefined ? undefined : (await readConfig(opts.logKey, '--log-key')).trim();
  const witnessKeys = await Promise.all(opts.witnessKey.map(async (f) => (await readConfig(f, '--witness-key')).split('\n').map((l) => l.trim()).filter(Boolean)));
  const previousCheckpoint = opts.previousCheckpoint === undefined ? undefined : await readConfig(opts.previousCheckpoint, '--previous-checkpoint');
  const consistencyProof = opts.consistencyProof === undefined ? undefined : parseHashList(await readConfig(opts.consistencyProof, '--consistency-proof'), opts.consistencyProof);

  return {
    // Without --job/--round only the bundle's own job and round can be checked against; say so in the output.
    expected: opts.job !== undefined ? { job: opts.job, round: Number(opts.round), ...(opts.blob ? { blob: opts.blob } : {}) } : await expectedFromBundle(dir, opts),
    ...(jwks ? { trustedKeys: jwks } : {}),
    ...(logKey ? { checkpointVerifierKey: logKey } : {}),
    witnessKeys: witnessKeys.flat(),
    requiredCosignatures: Number(required),
    ...(previousCheckpoint !== undefined ? { previousCheckpoint } : {}),
    ...(consistencyProof ? { consistencyProof } : {}),
  };
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

function describe(v: VerifiedModelBundle, opts: ModelVerifyCliOptions): string {
  return [
    `verified ${v.blob.name}: ${v.blob.size} bytes, SHA-256 ${v.blob.sha256}`,
    `  manifest   ${v.manifest.kind} for job ${v.manifest.job} round ${v.manifest.round}${opts.job === undefined ? ' (job and round NOT checked: pass --job and --round)' : ''}, signed by ${v.kid}`,
    `  log        ${v.checkpoint.origin}: leaf ${v.leafIndex} of ${v.checkpoint.size}, root ${toBase64(v.checkpoint.rootHash)}`,
    `  witnesses  ${v.cosignatures.length === 0 ? 'none required' : v.cosignatures.map((c) => c.witness).join(', ')}`,
    `  history    ${opts.previousCheckpoint ? 'consistent with --previous-checkpoint' : 'NOT checked (no --previous-checkpoint)'}`,
    `  anchors    manifest keys ${v.anchors.manifestKeys} (jwks.json SHA-256 ${v.anchorDigests.jwks}), log key ${v.anchors.logKey}`,
    '',
  ].join('\n');
}
