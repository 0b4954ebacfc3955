import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { majorityOf, peekStewardApproval, type Roster } from '@medfed/proto/governance/index';
import { ExitCode } from '../exit-codes.js';
import { CliError, reportAndExit } from '../fail.js';
import { CoordinatorRefusal } from '../federation/rest-client.js';
import { connect, connectionOptions, type ConnectionFlags, type Env } from '../coordinator-connection.js';
import { collect, readApprovalFiles, signerOf } from './approval-files.js';

/**
 * `medfed governance roster install FILE [--approval FILE]...` and `medfed governance roster show`:
 * the consortium's rule on a running coordinator (docs/governance.md), over
 * `POST /v1/governance/roster` (admin) and `GET /v1/governance/roster` (admin, auditor), with the
 * connection flags every coordinator command reads. Exit 0 done; 2 usage or an unreadable file;
 * 5 unreachable; 6 no usable or a rejected credential; 8 refused (the roster does not verify, its
 * replacement lacks the approvals of a majority of the installed roster's stewards, or the role is
 * not allowed); 1 otherwise.
 */

export interface GovernanceIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Env;
}

const processIo: GovernanceIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

export interface RosterInstallAnswer {
  readonly outcome: 'installed' | 'replaced' | 'unchanged';
  readonly consortium: string;
  readonly version: number;
  readonly digest: string;
  readonly acceptedAt: string;
  readonly signers: readonly string[];
}

export interface RosterShown {
  readonly roster: Roster;
  readonly consortium: string;
  readonly version: number;
  readonly digest: string;
  readonly acceptedAt: string;
  readonly approvals: readonly string[];
  readonly auditRetentionDays: number;
}

/** A refusal keeps its code; 403 and 409 are this command's REFUSED, as for `medfed audit`. */
function exitFor(err: unknown): ExitCode {
  if (err instanceof CoordinatorRefusal) {
    return err.status === 401 ? ExitCode.AUTH : err.status === 403 || err.status === 409 ? ExitCode.REFUSED : err.status === 400 ? ExitCode.USAGE : ExitCode.FAILURE;
  }
  return err instanceof CliError ? err.exitCode : ExitCode.FAILURE;
}

function fail(action: string, err: unknown, io: GovernanceIo): ExitCode {
  const code = (err as { code?: unknown }).code;
  io.stderr(`medfed governance roster ${action}: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}\n`);
  return exitFor(err);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError('USAGE_FILE_UNREADABLE', `${file} cannot be read: ${(err as { code?: string }).code ?? (err as Error).message}`, ExitCode.USAGE);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError('USAGE_FILE_UNREADABLE', `${file} is not JSON (a roster as medfed agent roster writes it)`, ExitCode.USAGE);
  }
}

/** Runs `medfed governance roster install`; resolves with the exit code. */
export async function runRosterInstall(file: string, opts: ConnectionFlags & { approval?: string[]; json?: boolean }, io: GovernanceIo = processIo): Promise<ExitCode> {
  try {
    const roster = await readJson(file);
    const approvals = await readApprovalFiles(opts.approval);
    const { client } = await connect(opts, io.env);
    const answer = await client.call<RosterInstallAnswer>('POST', '/v1/governance/roster', { roster, ...(approvals.length > 0 ? { approvals: approvals.map((a) => a.jws) } : {}) });
    if (opts.json) {
      io.stdout(`${JSON.stringify(answer)}\n`);
    } else {
      const who = answer.signers.length > 0 ? `; ${answer.outcome === 'replaced' ? 'approved by' : 'signed by'} ${answer.signers.join(', ')}` : '';
      io.stdout(`${answer.outcome === 'unchanged' ? 'already installed:' : answer.outcome} roster ${answer.consortium} v${answer.version} (digest ${answer.digest})${who}\n`);
    }
    return ExitCode.OK;
  } catch (err) {
    return fail('install', err, io);
  }
}

function describeShown(r: RosterShown): string {
  const approvers = r.approvals.map((a) => {
    try {
      return signerOf(peekStewardApproval(a));
    } catch {
      return 'an unreadable approval';
    }
  });
  const stewards = r.roster.sites.length;
  const auditors = (r.roster.auditors ?? []).length;
  return [
    `roster ${r.consortium} v${r.version}, installed ${r.acceptedAt}, digest ${r.digest} (verified again just now)`,
    ...r.roster.sites.map((s) => `  steward of ${s.siteId}  key ${s.stewardKeyThumbprint}`),
    ...(r.roster.auditors ?? []).map((a) => `  auditor ${a.auditorId}  key ${a.keyThumbprint}`),
    `rules: ${r.roster.rules?.auditRetentionDays !== undefined ? `keep audit entries at least ${r.roster.rules.auditRetentionDays} days` : 'none'}; retention in force ${r.auditRetentionDays} days`,
    `a purge inside retention needs ${majorityOf(stewards)} of ${stewards} stewards${auditors > 0 ? ` or ${majorityOf(auditors)} of ${auditors} auditors` : ''}; `
      + `a new rule ${majorityOf(stewards)} of ${stewards} stewards`,
    approvers.length > 0 ? `replaced the version before it with the approvals of: ${approvers.join(', ')}` : 'the first roster installed here',
  ].join('\n');
}

/** Runs `medfed governance roster show`; resolves with the exit code. */
export async function runRosterShow(opts: ConnectionFlags & { json?: boolean }, io: GovernanceIo = processIo): Promise<ExitCode> {
  try {
    const { client } = await connect(opts, io.env);
    const shown = await client.call<RosterShown>('GET', '/v1/governance/roster');
    io.stdout(`${opts.json ? JSON.stringify(shown) : describeShown(shown)}\n`);
    return ExitCode.OK;
  } catch (err) {
    return fail('show', err, io);
  }
}

export function register(program: Command): void {
  const governance = program.command('governance').description("the consortium's rule on a running coordinator: who decides purges inside retention and rule changes");
  const roster = governance.command('roster').description('the steward-signed consortium roster the coordinator follows');
  connectionOptions(roster.command('install'))
    .description("install the roster every listed steward signed (admin); replacing the installed one needs approvals of a majority of its stewards (medfed agent sign-rule)")
    .argument('<file>', 'the roster file (medfed agent roster)')
    .option('--approval <file>', 'a signed approval of the replacement (repeat for each steward)', collect, [])
    .option('--json', 'print the answer as JSON')
    .action(async (file: string, opts: ConnectionFlags & { approval?: string[]; json?: boolean }) => {
      try {
        process.exit(await runRosterInstall(file, opts));
      } catch (err) {
        reportAndExit(err);
      }
    });
  connectionOptions(roster.command('show'))
    .description('the roster in force on the coordinator, verified again, with its digest (admin, auditor)')
    .option('--json', 'print it as JSON')
    .action(async (opts: ConnectionFlags & { json?: boolean }) => {
      try {
        process.exit(await runRosterShow(opts));
      } catch (err) {
        reportAndExit(err);
      }
    });
}
