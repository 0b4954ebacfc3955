import { stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadAgentConfig } from '@medfed/node-agent';
import { ensureSiteKeys } from '@medfed/node-agent/custody/site-keys';
import { consortiumOf } from '@medfed/node-agent/governance/consortium';
import {
  STEWARD_APPROVAL_MAX_LIFETIME_S, signStewardApproval, type Ed25519PublicJwk, type StewardApprovalClaims,
} from '@medfed/proto/governance/index';
import { connect, connectionOptions, type ConnectionFlags } from '../coordinator-connection.js';
import { CliError } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import type { ReleaseSummary } from './model.js';
import { describeRelease, releaseExitCode } from './release.js';

/** What a steward signs for: one release of one round of one job, over one encrypted input. */
export interface ReleaseToSign {
  readonly id: string;
  readonly job: string;
  readonly round: number;
  readonly inputSha256: string;
}

const DURATION = /^([1-9][0-9]{0,6})([smhd])$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };
const HEX64 = /^[0-9a-f]{64}$/;

/** `30m`, `24h`, `7d`: how long the approval stays valid, at most the 30 days an approval may have. */
export function parseExpiresIn(text: string): number {
  const m = DURATION.exec(text.trim());
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2]!]! : NaN;
  if (!(seconds >= 60 && seconds <= STEWARD_APPROVAL_MAX_LIFETIME_S)) {
    throw new CliError('USAGE_EXPIRES_IN', `--expires-in must be a duration such as 30m, 24h or 7d, between 1 minute and 30 days, not ${JSON.stringify(text)}`, ExitCode.USAGE);
  }
  return seconds;
}

/** The claims a steward of `site` signs for `release`, valid `expiresInS` seconds from `now`. */
export function releaseApprovalClaims(release: ReleaseToSign, site: string, consortium: string, expiresInS: number, now: Date = new Date()): StewardApprovalClaims {
  return {
    consortium, job: release.job, release: release.id, round: release.round, step: 'release', inputSha256: release.inputSha256,
    expiresAt: Math.floor(now.getTime() / 1000) + expiresInS, signerRole: 'steward', signer: site,
  };
}

interface ApproveReleaseOptions extends ConnectionFlags {
  readonly config: string;
  readonly release: string;
  readonly expiresIn: string;
  readonly out?: string;
  readonly job?: string;
  readonly round?: string;
  readonly inputSha256?: string;
  readonly json?: boolean;
}

/** The release as given on the command line (all three of --job, --round, --input-sha256), or undefined. */
function releaseFromFlags(opts: ApproveReleaseOptions): ReleaseToSign | undefined {
  const given = [opts.job, opts.round, opts.inputSha256].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given !== 3) throw new CliError('USAGE_RELEASE_DETAILS', '--job, --round and --input-sha256 go together', ExitCode.USAGE);
  if (!/^\d{1,7}$/.test(opts.round!) || Number(opts.round) < 1) throw new CliError('USAGE_RELEASE_DETAILS', `--round must be a positive integer, not ${JSON.stringify(opts.round)}`, ExitCode.USAGE);
  if (!HEX64.test(opts.inputSha256!)) throw new CliError('USAGE_RELEASE_DETAILS', '--input-sha256 must be 64 lowercase hex digits (the release\'s inputSha256)', ExitCode.USAGE);
  return { id: opts.release, job: opts.job!, round: Number(opts.round), inputSha256: opts.inputSha256! };
}

/**
 * `medfed agent approve-release --config AGENT.yaml --release R`: the site steward's approval of a
 * model release, as a signature with this site's steward key (docs/releases.md). It reads the
 * release from the coordinator (with the steward's own API key), signs {consortium, job, release,
 * round, step release, input digest, expiry, steward of this site} and posts the signature. With
 * `--out FILE` it writes the signature instead, for `medfed model release approve ID --approval
 * FILE` from another host; given `--job`, `--round` and `--input-sha256` as well, it signs without
 * any network (an air-gapped steward), and when it does read the release they must match it.
 */
export function register(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('run a hospital node agent');
  connectionOptions(agent.command('approve-release')
    .description("approve a model release as this site's steward: sign it with the site's steward key and send the signature to the coordinator (or write it to --out)")
    .requiredOption('-c, --config <file>', "the agent's configuration file (its siteId, stateDir with the steward key, consortium)")
    .requiredOption('--release <id>', 'the release to approve (medfed model release ls --state requested)')
    .option('--expires-in <duration>', 'how long the approval stays valid (e.g. 30m, 24h, 7d; at most 30d)', '24h')
    .option('--out <file>', 'write the signed approval to this file instead of sending it')
    .option('--job <id>', 'the job of the release (with --round and --input-sha256: sign without reading the release)')
    .option('--round <n>', 'the released round')
    .option('--input-sha256 <hex>', "the release's input digest (inputSha256 of medfed model release show --json)")
    .option('--json', 'print what was signed (and the release) as JSON'))
    .action(async (opts: ApproveReleaseOptions) => {
      try {
        await approveRelease(opts);
        process.exit(ExitCode.OK);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        process.stderr.write(`medfed agent approve-release: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}\n`);
        process.exit(releaseExitCode(err));
      }
    });
}

async function approveRelease(opts: ApproveReleaseOptions): Promise<void> {
  const expiresInS = parseExpiresIn(opts.expiresIn);
  const given = releaseFromFlags(opts);
  const config = await loadAgentConfig({ file: opts.config, env: {} });
  const stateDir = resolve(config.stateDir);
  // A steward key made here on the spot would be pinned nowhere: only the site's existing key signs.
  const keyFile = join(stateDir, 'custody', 'steward.jwk');
  if (!(await stat(keyFile).then((s) => s.isFile(), () => false))) {
    throw new CliError('CONFIG_STEWARD_KEY_MISSING', `${keyFile} does not exist: this is not the state directory of ${config.siteId}'s agent (its steward key is created when the agent first starts)`, ExitCode.CONFIG);
  }
  const offline = given !== undefined && opts.out !== undefined;
  const rest = offline ? undefined : (await connect(opts)).client;
  let release: ReleaseToSign;
  if (rest) {
    const fetched = await rest.call<ReleaseSummary & { inputSha256: string }>('GET', `/v1/releases/${encodeURIComponent(opts.release)}`);
    release = { id: fetched.id, job: fetched.job, round: fetched.round, inputSha256: fetched.inputSha256 };
    if (given && (given.job !== release.job || given.round !== release.round || given.inputSha256 !== release.inputSha256)) {
      throw new CliError('RELEASE_DETAILS_MISMATCH',
        `release ${release.id} is job ${release.job} round ${release.round} input ${release.inputSha256}; the flags say job ${given.job} round ${given.round} input ${given.inputSha256}`, ExitCode.REFUSED);
    }
    if (!fetched.quorum.sites.includes(config.siteId)) {
      throw new CliError('RELEASE_APPROVER_NOT_IN_JOB', `${config.siteId} does not take part in job ${release.job}; its sites are ${fetched.quorum.sites.join(', ')}`, ExitCode.REFUSED);
    }
  } else {
    release = given!;
  }
  const consortium = await consortiumOf(config);
  const steward = (await ensureSiteKeys(stateDir)).steward;
  const claims = releaseApprovalClaims(release, config.siteId, consortium, expiresInS);
  const jws = signStewardApproval(claims, { privateKey: steward.privateKey as never, publicJwk: steward.publicJwk as Ed25519PublicJwk });
  const signed = {
    event: 'release-approval-signed', release: release.id, job: release.job, round: release.round, inputSha256: release.inputSha256,
    consortium, signer: config.siteId, key: steward.thumbprint, expiresAt: new Date(claims.expiresAt * 1000).toISOString(),
  };
  const what = [
    `signed as steward of ${config.siteId} (consortium ${consortium}, steward key ${steward.thumbprint}): release ${release.id}`,
    `  job ${release.job} round ${release.round}, input SHA-256 ${release.inputSha256.slice(0, 16)}…, valid until ${signed.expiresAt}`,
  ].join('\n');
  if (opts.out !== undefined) {
    await writeFile(resolve(opts.out), `${jws}\n`, { mode: 0o644 });
    process.stdout.write(opts.json ? `${JSON.stringify({ ...signed, out: resolve(opts.out) })}\n`
      : `${what}\nwrote ${resolve(opts.out)}; send it with medfed model release approve ${release.id} --approval ${opts.out}\n`);
    return;
  }
  const answer = await rest!.call<ReleaseSummary>('POST', `/v1/releases/${encodeURIComponent(release.id)}/approvals`, { approval: jws });
  process.stdout.write(opts.json ? `${JSON.stringify({ ...signed, posted: true, state: answer.state })}\n` : `${what}\n${describeRelease(answer)}`);
}
