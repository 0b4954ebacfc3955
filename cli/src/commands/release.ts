import { readFile } from 'node:fs/promises';
import type { Command, CommanderError } from 'commander';
import { ExitCode } from '../exit-codes.js';
import type { RestClient } from '../federation/rest-client.js';
import type { ModelIo, ReleaseSummary } from './model.js';
import { connect, connectionOptions, type ConnectionFlags } from '../coordinator-connection.js';

/**
 * `medfed model release request|approve|cancel|ls|show`: the release workflow from the operator's side
 * (docs/releases.md). A researcher requests, site stewards (each signing with its site's steward key:
 * medfed agent approve-release) and the compliance role approve, the
 * sites decrypt and countersign on their own, and `medfed model export --release ID` writes the
 * bundle. Exit 0 done, 2 usage, 3 an unreadable CA file, 5 coordinator unreachable,
 * 6 no usable credential or credential refused (coordinator-connection.ts), 8 refused by the workflow (not a steward of a job site, release not pending,
 * not the requester, release ended), 1 otherwise.
 */

type ConnectionOptions = Readonly<ConnectionFlags> & { readonly json?: boolean };

const processIo: ModelIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => { process.exitCode = code; },
};

const REFUSED = new Set(['RELEASE_APPROVER_NOT_IN_JOB', 'RELEASE_SELF_APPROVAL', 'RELEASE_NOT_PENDING', 'RELEASE_EXISTS', 'AUTH_ROLE_FORBIDDEN',
  'RELEASE_CANCEL_FORBIDDEN', 'RELEASE_NOT_CANCELLABLE', 'RELEASE_APPROVAL_SIGNATURE_REQUIRED', 'RELEASE_APPROVAL_SIGNATURE_UNEXPECTED',
  'STEWARD_APPROVAL_INVALID', 'STEWARD_APPROVAL_SIGNATURE_INVALID', 'STEWARD_APPROVAL_MISMATCH', 'STEWARD_APPROVAL_EXPIRED']);

/** Exit 8 for a refusal by the workflow, else the error's own exit code, else 1. */
export function releaseExitCode(err: unknown): number {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && REFUSED.has(code)) return ExitCode.REFUSED;
  const exit = (err as { exitCode?: unknown }).exitCode;
  return typeof exit === 'number' ? exit : ExitCode.FAILURE;
}

function withConnection(cmd: Command): Command {
  return connectionOptions(cmd).option('--json', 'print the answer as JSON');
}

/** One line per release, then its approvals and sites. */
export function describeRelease(r: ReleaseSummary): string {
  const signedBy = (a: ReleaseSummary['approvals'][number]) => {
    const key = (a as { signedBy?: string | null }).signedBy;
    return key ? ` (signed with key ${key})` : '';
  };
  const lines = [
    `${r.id}  ${r.state.toUpperCase()}  job ${r.job} round ${r.round}`,
    `  reason      ${r.reason} (requested by ${r.requestedBy})`,
    `  quorum      ${r.sitesApproved.length}/${r.quorum.siteApprovals} site stewards of ${r.quorum.sites.join(', ')}; ${r.complianceApprovals}/${r.quorum.compliance} compliance`,
    `  approvals   ${r.approvals.map((a) => `${a.capacity} by ${a.approver}${signedBy(a)}`).join('; ') || 'none yet'}`,
  ];
  if (r.decryptingSite) lines.push(`  sites       decrypts: ${r.decryptingSite}; reproduces and countersigns: ${r.countersigningSite}`);
  if (r.sha256) lines.push(`  plaintext   ${r.byteSize} bytes, SHA-256 ${r.sha256}`);
  if (r.modelId) lines.push(`  released    model ${r.modelId}, manifest ${r.manifestDigest}, log leaf ${r.leafIndex ?? 'pending'}`);
  const missed = (r as { missedSteps?: { step: string; site: string }[] }).missedSteps ?? [];
  if (missed.length > 0) lines.push(`  missed      ${missed.map((m) => `${m.step} by ${m.site}`).join('; ')} (deadline passed; the step went to the next key holder)`);
  if (r.failure) lines.push(`  ${r.state.padEnd(11)} ${r.failure.code}: ${r.failure.message}`);
  return `${lines.join('\n')}\n`;
}

async function run(io: ModelIo, opts: ConnectionOptions, fn: (rest: RestClient) => Promise<unknown>, print: (answer: never) => string): Promise<number> {
  try {
    const answer = await fn((await connect(opts)).client);
    io.stdout(opts.json ? `${JSON.stringify(answer, null, 2)}\n` : print(answer as never));
    return ExitCode.OK;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    io.stderr(`medfed model release: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}\n`);
    return releaseExitCode(err);
  }
}

/** Adds `release` under `medfed model` (registered after the model command). */
export function register(program: Command, io: ModelIo = processIo): void {
  const model = program.commands.find((c) => c.name() === 'model');
  if (!model) throw new Error('medfed model release is registered after medfed model');
  const release = model.command('release').description('release a plaintext model: request, approvals, the sites\' decryption and countersignature, the registry');
  const usage = (cmd: Command) => cmd.exitOverride((error: CommanderError) => {
    io.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    throw error;
  });

  usage(withConnection(release.command('request'))
    .description('request the release of a round\'s global model (researcher or admin)')
    .requiredOption('--job <id>', 'the job')
    .requiredOption('--round <n>', 'the closed training round to release (usually the last)')
    .requiredOption('--reason <text>', 'why the plaintext model leaves the sites (recorded in the audit trail)'))
    .action(async (opts: ConnectionOptions & { job: string; round: string; reason: string }) => {
      if (!/^\d{1,7}$/.test(opts.round)) {
        io.stderr(`medfed model release request: --round must be a positive integer, not ${JSON.stringify(opts.round)}\n`);
        return io.exit(ExitCode.USAGE);
      }
      io.exit(await run(io, opts, (rest) => rest.call('POST', `/v1/jobs/${encodeURIComponent(opts.job)}/releases`, { round: Number(opts.round), reason: opts.reason }),
        (r: ReleaseSummary) => `${describeRelease(r)}next: site stewards approve it with medfed agent approve-release --config AGENT.yaml --release ${r.id}, the compliance role with medfed model release approve ${r.id}\n`));
    });

  usage(withConnection(release.command('approve'))
    .description("approve a release: as the compliance role (auditor), or send a site steward's signed approval (--approval FILE from medfed agent approve-release --out)")
    .argument('<id>', 'the release')
    .option('--approval <file>', "a site steward's signed approval of this release, as medfed agent approve-release --out wrote it"))
    .action(async (id: string, opts: ConnectionOptions & { approval?: string }) => {
      let approval: string | undefined;
      if (opts.approval !== undefined) {
        try {
          approval = (await readFile(opts.approval, 'utf8')).trim();
        } catch (err) {
          io.stderr(`medfed model release approve: cannot read ${opts.approval}: ${(err as { code?: string }).code ?? (err as Error).message}\n`);
          return io.exit(ExitCode.USAGE);
        }
      }
      io.exit(await run(io, opts, (rest) => rest.call('POST', `/v1/releases/${encodeURIComponent(id)}/approvals`, approval === undefined ? {} : { approval }), describeRelease));
    });

  usage(withConnection(release.command('cancel'))
    .description('cancel a pending release (its requester or an admin): no site is asked for a step afterwards, an uploaded plaintext is deleted')
    .argument('<id>', 'the release')
    .requiredOption('--reason <text>', 'why the release is cancelled (recorded with it)'))
    .action(async (id: string, opts: ConnectionOptions & { reason: string }) => {
      io.exit(await run(io, opts, (rest) => rest.call('POST', `/v1/releases/${encodeURIComponent(id)}/cancel`, { reason: opts.reason }), describeRelease));
    });

  usage(withConnection(release.command('ls'))
    .description('the registry of released models (--state all: every release)')
    .option('--state <state>', 'requested, approved, decrypted, released, refused, failed, cancelled or all', 'released')
    .option('--job <id>', 'only this job'))
    .action(async (opts: ConnectionOptions & { state: string; job?: string }) => {
      const query = new URLSearchParams({ state: opts.state, ...(opts.job ? { job: opts.job } : {}) });
      io.exit(await run(io, opts, (rest) => rest.call('GET', `/v1/releases?${query.toString()}`),
        (a: { releases: ReleaseSummary[] }) => (a.releases.length === 0 ? 'no release\n' : a.releases.map(describeRelease).join('\n'))));
    });

  usage(withConnection(release.command('show'))
    .description('one release: state, approvals, sites, digests, manifest and log leaf')
    .argument('<id>', 'the release'))
    .action(async (id: string, opts: ConnectionOptions) => {
      io.exit(await run(io, opts, (rest) => rest.call('GET', `/v1/releases/${encodeURIComponent(id)}`), describeRelease));
    });
}
