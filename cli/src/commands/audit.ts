import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command, CommanderError } from 'commander';
import {
  LineSplitter, describeProblem, parseJwks, readTarGz, signerFromPrivateJwk, throwawaySigner, verifyAuditBundle, type BundleVerifyReport, type LocalSigner,
} from '@medfed/proto/audit/index';
import {
  GovernanceError, GovernedEventsVerifier, readRoster, verifyRoster, type GovernedEventsReport, type Roster,
} from '@medfed/proto/governance/index';
import { exportAuditBundle, normalizeExportFilter } from '@medfed/coordinator/audit/index';
import { openDatabase } from '@medfed/coordinator/storage/index';
import { auditTlogVerifier } from '@medfed/coordinator/publishing/index';
import { trustBundleAnchors } from '@medfed/node-agent/verification/trust-bundle';
import { ExitCode, ORIGIN_UNVERIFIED_EXIT } from '../exit-codes.js';
import { CliError } from '../fail.js';
import { CoordinatorRefusal, type RestClient } from '../federation/rest-client.js';
import { connect, connectionOptions, coordinatorUrl, type ConnectionFlags } from '../coordinator-connection.js';
import { collect, readApprovalFiles } from './approval-files.js';

/**
 * `medfed audit export`, `medfed audit verify` and `medfed audit purge`.
 *
 * export: a signed compliance bundle (auditor role), from the coordinator's REST API
 * (`GET /v1/audit/export`) or straight from a database (`--database-url`, `--local`). The coordinator,
 * credential and CA come from the flags and environment every coordinator command reads
 * (coordinator-connection.ts: --coordinator, --token or --key-file, --ca), so an https coordinator
 * works with --ca alone; without --coordinator, --database-url or --local the coordinator is
 * MEDFED_COORDINATOR_URL (or MEDFED_COORDINATOR), and there is no default source.
 * verify: offline checks of a bundle. Exit 0 verified against pinned trust (--trust, or both --jwks
 * and --log-key); 9 (ORIGIN_UNVERIFIED) every check passed but nothing was pinned, so they prove
 * integrity and not origin; 7 (VERIFY_FAILED) with the first bad event or problem named (among them
 * AUDIT_BUNDLE_TRUNCATED: entries the pinned log's tail anchors are missing; with --roster,
 * AUDIT_PURGE_NOT_APPROVED: a purge inside retention not approved under a pinned roster, and
 * GOVERNANCE_ROSTER_UNPINNED: a roster installed that is not pinned); 2 usage; 3 an unreadable
 * --jwks, --log-key, --trust, --signing-key or CA file, or a --roster that does not verify; 4 an unreadable bundle; 5 coordinator or
 * database unreachable; 6 no usable credential, or the credential was rejected; 8 refused by the
 * coordinator (not an auditor).
 * purge: `POST /v1/audit/purge` (admin role); inside the retention period only with --force and
 * the signed approvals of a majority of the consortium roster's stewards or auditors (--approval,
 * docs/governance.md). Exit 0 purged (or nothing old enough); 2 usage, an unreadable --approval or
 * no --yes; 5 unreachable; 6 no usable or a rejected credential; 8 refused (not an admin, inside
 * the retention period without --force, or without the approvals: APPROVAL_QUORUM_NOT_MET).
 */

export interface AuditIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly exit: (code: number) => void;
  readonly env: NodeJS.ProcessEnv;
}

const processIo: AuditIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => {
    process.exitCode = code;
  },
  env: process.env,
};

export interface AuditExportCliOptions extends Readonly<ConnectionFlags> {
  readonly from?: string;
  readonly to?: string;
  readonly job?: string;
  readonly site?: string;
  readonly out?: string;
  readonly databaseUrl?: string;
  readonly local?: string;
  readonly signingKey?: string;
}

export interface AuditPurgeCliOptions extends Readonly<ConnectionFlags> {
  readonly before?: string;
  readonly yes?: boolean;
  readonly force?: boolean;
  /** Files each holding a signed approval of this purge (medfed agent sign-purge, medfed audit sign-purge). */
  readonly approval?: readonly string[];
}

export interface AuditVerifyCliOptions {
  readonly jwks?: string;
  readonly logKey?: string;
  readonly trust?: string;
  /** Roster files the verifier pinned (docs/governance.md): purges inside retention and roster installs are checked against them. */
  readonly roster?: readonly string[];
  readonly json?: boolean;
}

class UsageError extends Error {}

/** Kept for callers of the audit command: see ORIGIN_UNVERIFIED_EXIT. */
export const AUDIT_VERIFY_ORIGIN_UNVERIFIED = ORIGIN_UNVERIFIED_EXIT;

export function register(program: Command, io: AuditIo = processIo): void {
  const onCommanderExit = (error: CommanderError) => {
    io.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    throw error;
  };
  const audit = program.command('audit').description('export, verify and purge the tamper-evident audit trail');
  connectionOptions(audit.command('export'))
    .description('export the audit trail as a signed compliance bundle (auditor role): events as NDJSON and CSV, anchors, proofs, JWKS, HTML and PDF report')
    .option('--from <time>', 'first instant to include (ISO 8601, e.g. 2025-01-01 or 2025-01-01T00:00:00Z)')
    .option('--to <time>', 'last instant to include (ISO 8601)')
    .option('--job <id>', 'only events of this job; the others appear as hashes only')
    .option('--site <id>', 'only events of this site; the others appear as hashes only')
    .option('--out <file>', 'where to write the .tar.gz bundle (required)')
    .option('--database-url <url>', 'build the bundle straight from this PostgreSQL database instead of the API')
    .option('--local <dir>', 'build the bundle straight from the embedded (PGlite) database in this directory')
    .option('--signing-key <file>', 'with --database-url or --local: private JWK (with alg and kid) that signs the manifest; default: a throwaway key')
    .exitOverride(onCommanderExit)
    .action(async (opts: AuditExportCliOptions) => {
      io.exit(await runAuditExport(opts, io));
    });
  audit
    .command('verify')
    .description('verify a bundle offline: chain continuity, hashes, sequence numbers, anchors, file digests, signatures, completeness against the pinned log; exit 7 names the first bad event, exit 9 means nothing was pinned (origin unverified)')
    .argument('<bundle>', 'the .tar.gz bundle')
    .option('--jwks <file>', "the coordinator's published JWKS to trust (default: the bundle's own jwks.json, which proves integrity, not origin)")
    .option('--log-key <file>', "the transparency log's pinned verifier key (<origin>+<hex id>+<base64>); default: the key the bundle's checkpoints.json names, which proves consistency, not origin")
    .option('--trust <dir>', "the coordinator's trust bundle (medfed trust export, or an agent's pinned <stateDir>/trust): its manifest keys and log key instead of --jwks and --log-key")
    .option('--roster <file>', "a consortium roster you pinned (the file every steward signed): each purge inside retention must be approved under a pinned roster, and each roster installed must be pinned; repeat for each version", collect, [])
    .option('--json', 'print the full verification report as JSON')
    .exitOverride(onCommanderExit)
    .action(async (bundle: string, opts: AuditVerifyCliOptions) => {
      io.exit(await runAuditVerify(bundle, opts, io));
    });
  connectionOptions(audit.command('purge'))
    .description('remove audit entries older than --before (admin role); leaves a signed truncation anchor from which the rest of the chain verifies')
    .option('--before <time>', 'purge entries older than this instant (ISO 8601); must be outside the retention period (audit.retentionDays)')
    .option('--yes', 'confirm: the entries are removed for good')
    .option('--force', 'cut inside the retention period: needs --approval from a majority of the roster\'s stewards or auditors (recorded as RETENTION_OVERRIDE and listed as an anomaly)')
    .option('--approval <file>', 'a signed approval of this purge (medfed agent sign-purge, medfed audit sign-purge); repeat for each signer', collect, [])
    .exitOverride(onCommanderExit)
    .action(async (opts: AuditPurgeCliOptions) => {
      io.exit(await runAuditPurge(opts, io));
    });
}

/**
 * Maps a failure to a message and an exit code: filter errors are usage errors; the coordinator's
 * refusals keep their status (403 and 409 are this command's documented REFUSED); a connection
 * failure keeps the code coordinator-connection.ts gives it.
 */
function failure(action: string, err: unknown, io: AuditIo): ExitCode {
  if (err instanceof UsageError) {
    io.stderr(`medfed audit ${action}: ${err.message}\n`);
    return ExitCode.USAGE;
  }
  if (err instanceof CoordinatorRefusal) {
    io.stderr(`medfed audit ${action}: the coordinator answered ${err.status}: ${err.code}: ${err.message}\n`);
    return err.status === 401 ? ExitCode.AUTH : err.status === 403 || err.status === 409 ? ExitCode.REFUSED : err.status === 400 ? ExitCode.USAGE : ExitCode.FAILURE;
  }
  const code = (err as { code?: unknown }).code;
  io.stderr(`medfed audit ${action}: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}\n`);
  if (err instanceof CliError) return err.exitCode;
  return code === 'AUDIT_EXPORT_FILTER_INVALID' ? ExitCode.USAGE : ExitCode.FAILURE;
}

/** The connected client for a command whose coordinator URL was already resolved. */
async function client(base: string, opts: Readonly<ConnectionFlags>, io: AuditIo): Promise<RestClient> {
  return (await connect({ ...opts, coordinator: base }, io.env)).client;
}

// ---------------------------------------------------------------------------------------------
// export

/** Runs `medfed audit export`; resolves with the exit code. */
export async function runAuditExport(opts: AuditExportCliOptions, io: AuditIo = processIo): Promise<ExitCode> {
  try {
    return await exportBundle(opts, io);
  } catch (err) {
    return failure('export', err, io);
  }
}

async function exportBundle(opts: AuditExportCliOptions, io: AuditIo): Promise<ExitCode> {
  const out = opts.out;
  if (!out) throw new UsageError('--out FILE.tar.gz is required');
  if (!/\.(tar\.gz|tgz)$/.test(out)) throw new UsageError(`--out must name a .tar.gz file; got ${out}`);
  const filter = normalizeExportFilter({ from: opts.from, to: opts.to, job: opts.job, site: opts.site });
  const sources = ([['coordinator', opts.coordinator], ['database-url', opts.databaseUrl], ['local', opts.local]] as const).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (sources.length > 1) throw new UsageError(`choose one source: --${sources.join(' or --')}`);
  if (opts.signingKey && sources[0] !== 'database-url' && sources[0] !== 'local') throw new UsageError('--signing-key applies to --database-url and --local only');
  if (opts.local !== undefined && !(await stat(opts.local).then((st) => st.isDirectory(), () => false))) {
    // PGlite would silently create an empty database in a new directory: refuse instead.
    throw new UsageError(`--local ${opts.local} is not an existing database directory`);
  }
  const target = resolve(out);
  await stat(dirname(target)).catch(() => { throw new UsageError(`the directory of --out (${dirname(target)}) does not exist`); });

  if (sources[0] === 'database-url' || sources[0] === 'local') return exportFromDatabase(target, filter, opts, io);
  const base = coordinatorUrl(opts, io.env, { fallback: false });
  if (!base) throw new UsageError('give a source: --coordinator URL (or MEDFED_COORDINATOR_URL), --database-url URL or --local DIR');
  return exportFromCoordinator(target, filter, await client(base, opts, io), io);
}

/** GET {coordinator}/v1/audit/export, streamed to a temporary file, then renamed. */
async function exportFromCoordinator(target: string, filter: ReturnType<typeof normalizeExportFilter>, rest: RestClient, io: AuditIo): Promise<ExitCode> {
  const query = new URLSearchParams();
  for (const key of ['from', 'to', 'job', 'site'] as const) {
    const value = filter[key];
    if (value) query.set(key, value);
  }
  const q = query.toString();
  const response = await rest.open('GET', `/v1/audit/export${q ? `?${q}` : ''}`, { accept: 'application/gzip' });
  // Written beside the target and renamed once complete: an interrupted download leaves no half bundle.
  const partial = `${target}.${randomUUID()}.partial`;
  try {
    await pipeline(response, createWriteStream(partial));
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    io.stderr(`medfed audit export: the download was interrupted: ${(err as Error).message}\n`);
    return ExitCode.UNREACHABLE;
  }
  const { size } = await stat(target);
  io.stdout(`wrote ${target} (${size} bytes); check it with: medfed audit verify ${target}\n`);
  return ExitCode.OK;
}

async function loadSigner(file: string | undefined, io: AuditIo): Promise<LocalSigner> {
  if (!file) {
    io.stderr('medfed audit export: warning: no --signing-key; the manifest is signed with a throwaway key, so the bundle proves its integrity but not that the coordinator made it\n');
    return throwawaySigner();
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`--signing-key ${file} is not a readable JSON JWK: ${(err as Error).message}`);
  }
  try {
    return await signerFromPrivateJwk(jwk as Parameters<typeof signerFromPrivateJwk>[0]);
  } catch (err) {
    throw new Error(`--signing-key ${file}: ${(err as Error).message}`);
  }
}

async function exportFromDatabase(target: string, filter: ReturnType<typeof normalizeExportFilter>, opts: AuditExportCliOptions, io: AuditIo): Promise<ExitCode> {
  let signer: LocalSigner;
  try {
    signer = await loadSigner(opts.signingKey, io);
  } catch (err) {
    io.stderr(`medfed audit export: ${(err as Error).message}\n`);
    return ExitCode.CONFIG;
  }
  const databaseUrl = opts.databaseUrl;
  let db: Awaited<ReturnType<typeof openDatabase>>;
  try {
    db = await openDatabase(databaseUrl ? { databaseUrl } : { dataDir: opts.local });
  } catch (err) {
    io.stderr(`medfed audit export: cannot open the database: ${(err as Error).message}\n`);
    return ExitCode.UNREACHABLE;
  }
  const user = userInfo().username.replace(/[^A-Za-z0-9._-]/g, '-') || 'unknown';
  const partial = `${target}.${randomUUID()}.partial`;
  try {
    const { manifest } = await exportAuditBundle(db, {
      filter, out: partial, signer: signer.sign, jwks: signer.jwks,
      requestedBy: { actor: `cli:${user}`, role: 'auditor', rule: 'cli:direct-database-access', requestId: `cli-${randomUUID()}` },
    });
    await rename(partial, target);
    const c = manifest.chain;
    io.stdout(`wrote ${target}: ${c.entries} entries${c.first_seq !== null ? ` (seq ${c.first_seq}..${c.last_seq}, ${c.hash_only} hash-only)` : ''}; check it with: medfed audit verify ${target}\n`);
    return ExitCode.OK;
  } finally {
    await rm(partial, { force: true });
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// purge

/** An ISO 8601 date or date-time as the canonical UTC instant, or a usage error. */
function instant(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${flag} TIME is required (ISO 8601, e.g. 2019-01-01 or 2019-01-01T00:00:00Z)`);
  const ms = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag} must be an ISO 8601 time; got ${value}`);
  return new Date(ms).toISOString();
}

/** Runs `medfed audit purge`; resolves with the exit code. */
export async function runAuditPurge(opts: AuditPurgeCliOptions, io: AuditIo = processIo): Promise<ExitCode> {
  try {
    return await purge(opts, io);
  } catch (err) {
    return failure('purge', err, io);
  }
}

async function purge(opts: AuditPurgeCliOptions, io: AuditIo): Promise<ExitCode> {
  const before = instant(opts.before, '--before');
  const base = coordinatorUrl(opts, io.env)!;
  if (!opts.yes) {
    io.stderr(`medfed audit purge: this permanently removes every audit entry before ${before}${opts.force ? ', inside the retention period' : ''}; ` +
      'a signed truncation anchor stays so the rest of the chain verifies. Export the range first (medfed audit export --to ...), then rerun with --yes.\n');
    return ExitCode.USAGE;
  }
  const approvals = await readApprovalFiles(opts.approval);
  const rest = await client(base, opts, io);
  const body = await rest.call<{ purged?: number; throughSeq?: number; hash?: string; signers?: string[] }>('POST', '/v1/audit/purge', {
    before, ...(opts.force ? { force: true } : {}), ...(approvals.length > 0 ? { approvals: approvals.map((a) => a.jws) } : {}),
  });
  if (!body.purged) {
    io.stdout(`nothing to purge before ${before}\n`);
  } else {
    io.stdout(`purged ${String(body.purged)} entries through seq ${String(body.throughSeq)}; the chain now starts at the signed truncation anchor for seq ${String(body.throughSeq)} (${String(body.hash)})\n`);
  }
  if (body.signers && body.signers.length > 0) io.stdout(`approved inside the retention period by ${body.signers.join(', ')}\n`);
  return ExitCode.OK;
}

// ---------------------------------------------------------------------------------------------
// verify

const CHECK_LABELS: Readonly<Record<string, string>> = {
  verified: 'verified', failed: 'FAILED', unchecked: 'NOT CHECKED', absent: 'none in bundle',
};

/** Runs `medfed audit verify`; resolves with the exit code. */
export async function runAuditVerify(file: string, opts: AuditVerifyCliOptions, io: AuditIo = processIo): Promise<ExitCode | typeof AUDIT_VERIFY_ORIGIN_UNVERIFIED> {
  try {
    return await verifyBundle(file, opts, io);
  } catch (err) {
    return failure('verify', err, io);
  }
}

async function verifyBundle(file: string, opts: AuditVerifyCliOptions, io: AuditIo): Promise<ExitCode | typeof AUDIT_VERIFY_ORIGIN_UNVERIFIED> {
  const exists = await stat(file).then((s) => s.isFile(), () => false);
  if (!exists) {
    io.stderr(`medfed audit verify: ${file} is not a readable file\n`);
    return ExitCode.DATA;
  }
  if (opts.trust !== undefined && (opts.jwks !== undefined || opts.logKey !== undefined)) throw new UsageError('--trust gives the manifest keys and the log key: drop --jwks and --log-key');
  let jwks: ReturnType<typeof parseJwks> | undefined;
  let logKey: string | undefined;
  if (opts.trust !== undefined) {
    try {
      const pinned = await trustBundleAnchors(opts.trust);
      jwks = parseJwks(Buffer.from(JSON.stringify(pinned.jwks)), `--trust ${opts.trust}`);
      logKey = pinned.checkpointKey;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      io.stderr(`medfed audit verify: --trust ${opts.trust}: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}\n`);
      return ExitCode.CONFIG;
    }
  }
  const rosters: Roster[] = [];
  for (const path of opts.roster ?? []) {
    try {
      const roster = await readRoster(path);
      await verifyRoster(roster);
      rosters.push(roster);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      io.stderr(`medfed audit verify: --roster ${path}: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}\n`);
      return ExitCode.CONFIG;
    }
  }
  const jwksFile = opts.jwks;
  if (jwksFile) {
    try {
      jwks = parseJwks(await readFile(jwksFile), `--jwks ${jwksFile}`);
    } catch (err) {
      io.stderr(`medfed audit verify: ${(err as Error).message}\n`);
      return ExitCode.CONFIG;
    }
  }
  if (opts.logKey) {
    try {
      logKey = (await readFile(opts.logKey, 'utf8')).trim();
    } catch (err) {
      io.stderr(`medfed audit verify: --log-key ${opts.logKey} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      return ExitCode.CONFIG;
    }
  }
  // Checkpoints and proofs: the anchors' leaves must be included under a checkpoint signed by the log key.
  const verifyTlog = auditTlogVerifier(logKey ? { checkpointVerifierKey: logKey } : {});
  const report = await verifyAuditBundle(file, { ...(jwks ? { jwks } : {}), ...(logKey ? { pinnedLogKey: logKey } : {}), verifyTlog });
  // The roster check reads the events again, only once the bundle itself verified.
  const governance = report.ok && rosters.length > 0 ? await checkGovernedEvents(file, rosters) : null;
  const refusal = governance instanceof GovernanceError ? governance : null;
  const governed = governance instanceof GovernanceError ? null : governance;
  if (opts.json) {
    const extra = governance === null ? {} : { governance: refusal ? { ok: false, code: refusal.code, message: refusal.message } : { ok: true, ...governed } };
    io.stdout(`${JSON.stringify({ ...report, ...extra }, null, 2)}\n`);
  } else {
    io.stdout(formatReport(file, report, logKey, opts.trust, governance === null ? null : refusal ?? governed!));
  }
  if (!report.ok) {
    const first = report.firstBadEvent ?? report.problems[0]!;
    io.stderr(`medfed audit verify: FAILED: ${report.firstBadEvent ? 'first bad event: ' : ''}${describeProblem(first)}\n`);
    return ExitCode.VERIFY_FAILED;
  }
  if (refusal) {
    io.stderr(`medfed audit verify: FAILED: ${refusal.code}: ${refusal.message}\n`);
    return ExitCode.VERIFY_FAILED;
  }
  if (report.origin === 'unverified') {
    io.stderr(`medfed audit verify: origin unverified: the bundle is intact, but without ${jwks ? '--log-key' : logKey ? '--jwks' : '--trust (or --jwks and --log-key)'} nothing shows that the coordinator made it or that it is complete\n`);
    return AUDIT_VERIFY_ORIGIN_UNVERIFIED;
  }
  return ExitCode.OK;
}

/** Streams the bundle's events through the pinned-roster check; the refusal, if any, as a value. */
async function checkGovernedEvents(file: string, rosters: readonly Roster[]): Promise<GovernedEventsReport | GovernanceError> {
  const verifier = new GovernedEventsVerifier(rosters);
  // Errors are kept, not thrown, inside the stream's callbacks (the chain check parsed every line already).
  let broken: unknown = null;
  await readTarGz(file, ({ name }) => {
    if (name !== 'events.ndjson') return { onData: () => {}, onEnd: () => {} };
    const splitter = new LineSplitter((line) => {
      if (line.length === 0 || broken !== null) return;
      try {
        verifier.push(JSON.parse(line) as unknown);
      } catch (err) {
        broken = err;
      }
    });
    return { onData: (chunk) => splitter.push(chunk), onEnd: () => splitter.end() };
  });
  if (broken !== null) throw broken;
  try {
    return verifier.finish();
  } catch (err) {
    if (err instanceof GovernanceError) return err;
    throw err;
  }
}

function governanceLines(g: GovernedEventsReport | GovernanceError): string[] {
  if (g instanceof GovernanceError) return [`  governance   FAILED: ${g.code}: ${g.message}`];
  const byWhom = g.purges.map((p) => `seq ${p.seq} by ${p.approvedBy.join(', ')} (roster ${p.consortium} v${p.version})`);
  return [
    `  purges       ${g.purges.length} inside retention checked against the pinned roster${byWhom.length > 0 ? `, approved: ${byWhom.join('; ')}` : ''}`,
    `  rosters      ${g.rosterChanges.length} installed or replaced, all pinned${g.hashOnly > 0 ? `; ${g.hashOnly} hash-only entries not checked (export without --job or --site to check them)` : ''}`,
  ];
}

function formatReport(file: string, r: BundleVerifyReport, logKey: string | undefined, trust: string | undefined, governance: GovernedEventsReport | GovernanceError | null = null): string {
  const c = r.chain;
  const lines = [`medfed audit verify ${file}`];
  lines.push(`  chain        ${r.firstBadEvent ? 'FAILED' : c ? 'ok' : 'missing'}${c && c.firstSeq !== null ? `: seq ${c.firstSeq}..${c.lastSeq} (${c.entries} entries, ${c.hashOnly} hash-only)` : c ? ': empty range' : ''}`);
  lines.push(`  signature    ${CHECK_LABELS[r.signature]} (${r.keySource === 'pinned' ? (trust ? `keys from the trust bundle ${trust}` : 'keys from --jwks') : "keys from the bundle's jwks.json; pass --jwks to pin the coordinator's keys"})`);
  lines.push(`  truncation   ${r.truncation === 'absent' ? 'none' : CHECK_LABELS[r.truncation]}`);
  lines.push(`  anchors      ${r.anchors} in range${r.firstBadEvent?.code === 'AUDIT_ANCHOR_MISMATCH' ? ' (MISMATCH)' : r.chain ? ', all matched' : ''}`);
  lines.push(`  tlog proofs  ${CHECK_LABELS[r.tlog]}${r.tlog === 'verified' && !logKey ? " (log key from the bundle's checkpoints.json; pass --log-key to pin it)" : ''}`);
  lines.push(`  log tail     ${r.tail === 'unchecked' ? 'NOT CHECKED (pass --log-key or --trust: completeness needs the pinned log key)' : `${CHECK_LABELS[r.tail]}${r.tail === 'verified' ? ': no entry anchored in the log is missing' : ''}`}`);
  lines.push(`  origin       ${r.origin === 'verified' ? 'verified (pinned manifest keys and log key)' : 'UNVERIFIED (integrity only: pin --trust, or --jwks and --log-key)'}`);
  for (const p of r.problems) lines.push(`  problem      ${describeProblem(p)}`);
  if (governance) lines.push(...governanceLines(governance));
  lines.push(r.ok && !(governance instanceof GovernanceError) ? 'OK' : 'FAILED');
  return `${lines.join('\n')}\n`;
}
