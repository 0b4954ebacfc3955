import { access, constants, readFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { InvalidArgumentError, type Command } from 'commander';
import { MedfedError } from '@medfed/proto';
import {
  AGENT_VERSION, checkDataForJob, DEFAULT_MAX_DROPPED_SHARE, loadAgentConfig, loadDataset, optOutPath, readOptOut, sandboxAvailability,
  type AgentConfig, type DataFitReport,
} from '@medfed/node-agent';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { channelCredentials, loadAgentIdentity } from '@medfed/node-agent/identity/index';
import { reportAndExit } from '../fail.js';
import { parseJobId } from '../coordinator-connection.js';
import { findJobSpec, type JobSource } from './preflight-job.js';
import { ExitCode } from '../exit-codes.js';

/**
 * `medfed agent preflight`: checks, before the first run, everything that commonly keeps a hospital's
 * agent from working, and says for each what is wrong and how to fix it. Every check has its own exit
 * code (published here and in docs/operations.md); with several failures the first one in this order decides.
 */
export const PREFLIGHT_CHECKS = {
  config: { title: 'agent configuration', code: 'PREFLIGHT_CONFIG_INVALID', exit: ExitCode.CONFIG,
    fix: 'Correct the named key in the configuration file (medfed agent init writes a complete one).' },
  reachable: { title: 'coordinator reachable', code: 'PREFLIGHT_UNREACHABLE', exit: 10,
    fix: 'Check coordinator.grpc (host:port of the gRPC endpoint, not the REST port), DNS, the hospital firewall and any proxy; ask the coordinator operator whether it is running.' },
  tls: { title: 'TLS versus plaintext', code: 'PREFLIGHT_TLS_MISMATCH', exit: 11,
    fix: 'Make both sides agree: set coordinator.tls.ca to the CA file when the coordinator serves TLS, remove coordinator.tls for a plaintext development coordinator on this host.' },
  certChain: { title: 'certificate chain', code: 'PREFLIGHT_CERT_CHAIN', exit: 12,
    fix: 'Set coordinator.tls.ca to the CA that signed the coordinator certificate (ask its operator for ca.pem); an expired certificate must be renewed by the operator.' },
  certName: { title: 'certificate name', code: 'PREFLIGHT_CERT_NAME', exit: 13,
    fix: 'Use the host name the certificate is issued for in coordinator.grpc, or have the operator issue a certificate that names this host (medfed dev-ca --host NAME).' },
  clock: { title: 'clock skew', code: 'PREFLIGHT_CLOCK_SKEW', exit: 14,
    fix: 'Synchronise this host clock (chrony or systemd-timesyncd with the hospital NTP server); tokens and proofs allow a few seconds only.' },
  token: { title: 'token issuer and audience', code: 'PREFLIGHT_TOKEN', exit: 15,
    fix: 'Enroll again against this coordinator (medfed agent enroll --code ...): the identity was made for another coordinator, or the coordinator issuer/audience changed.' },
  data: { title: 'data file readable', code: 'PREFLIGHT_DATA_UNREADABLE', exit: 16,
    fix: 'Point data.csv at the dataset and let the agent user read it (chmod/chown, or a read-only bind mount in containers).' },
  schema: { title: 'data schema valid', code: 'PREFLIGHT_SCHEMA_INVALID', exit: 17,
    fix: 'Fix the data or the schema file as the message says (label column, types, identifiers); medfed agent init can infer a schema to start from.' },
  // With --job or --spec only; new exit codes, so no earlier one is renumbered. Before the sandbox, which says least about this job.
  jobSpec: { title: 'job specification', code: 'PREFLIGHT_JOB_SPEC_UNAVAILABLE', exit: 19,
    fix: 'Give --key-file with an API key of this site\'s steward and --rest with the coordinator\'s REST URL, or save the job\'s spec (JSON, as submitted) and pass --spec FILE.' },
  jobData: { title: 'data fits the job', code: 'PREFLIGHT_JOB_DATA_MISMATCH', exit: 20,
    fix: 'Change the export as the message says: every job feature a numeric column (a text column such as sex M/F as 0/1 columns, one per category), the cells it names fixed; or raise data.maxDroppedShare if dropping those rows is acceptable.' },
  sandbox: { title: 'training sandbox available', code: 'PREFLIGHT_SANDBOX_UNAVAILABLE', exit: 18,
    fix: 'Install bubblewrap and util-linux (prlimit) and allow unprivileged user namespaces; docs/sandbox.md lists the settings per platform.' },
} as const;

export type PreflightCheckId = keyof typeof PREFLIGHT_CHECKS;

export interface CheckResult {
  readonly id: PreflightCheckId;
  readonly title: string;
  /** null: not checked (an earlier check failed, or nothing to check). */
  readonly ok: boolean | null;
  readonly detail: string;
  readonly code?: string;
  readonly exit?: number;
  readonly fix?: string;
}

export interface PreflightOptions {
  readonly config: AgentConfig;
  /** The audience the coordinator's tokens must carry. */
  readonly audience: string;
  /** Most clock difference accepted, seconds (the coordinator's default skew allowance). */
  readonly maxSkewSeconds: number;
  readonly timeoutMs: number;
  readonly bwrap?: string | undefined;
  /** Also check the data against this job (`--job`, `--spec`), as the agent will before round 0. */
  readonly job?: JobSource | undefined;
}

const pass = (id: PreflightCheckId, detail: string): CheckResult => ({ id, title: PREFLIGHT_CHECKS[id].title, ok: true, detail });
const skip = (id: PreflightCheckId, detail: string): CheckResult => ({ id, title: PREFLIGHT_CHECKS[id].title, ok: null, detail });
const fail = (id: PreflightCheckId, detail: string, fix?: string): CheckResult => {
  const c = PREFLIGHT_CHECKS[id];
  return { id, title: c.title, ok: false, detail, code: c.code, exit: c.exit, fix: fix ?? c.fix };
};

function hostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  return { host: m?.[1] ?? address, port: Number(m?.[2] ?? 0) };
}

function reachable(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    const done = (err: string | null) => { s.destroy(); resolve(err); };
    s.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    s.once('connect', () => done(null));
    s.once('error', (e: NodeJS.ErrnoException) => done(`${e.code ?? e.message}`));
  });
}

/** A TLS handshake: null on success, else the error code or message. */
function handshake(options: ConnectionOptions, timeoutMs: number): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ ...options, ALPNProtocols: ['h2'] });
    const done = (r: { ok: true } | { ok: false; code: string; message: string }) => { s.destroy(); resolve(r); };
    s.setTimeout(timeoutMs, () => done({ ok: false, code: 'ETIMEDOUT', message: `no TLS answer within ${timeoutMs} ms` }));
    s.once('secureConnect', () => done({ ok: true }));
    s.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, code: e.code ?? 'ERR', message: e.message }));
  });
}

const CHAIN_ERRORS = /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED/;
/** What a TLS client sees when the other side answers in plaintext HTTP/2 (or closes on a ClientHello). */
const PLAINTEXT_ANSWER = /WRONG_VERSION_NUMBER|wrong version number|packet length too long|ECONNRESET|socket disconnected before secure|unexpected eof|EPROTO/i;

/** Pure: the clock verdict from the server's time and ours (the round trip bounds the error). */
export function clockSkewVerdict(localMs: number, serverMs: number, rttMs: number, maxSkewSeconds: number): { ok: boolean; skewSeconds: number } {
  const skew = (localMs - serverMs) / 1000;
  const uncertain = rttMs / 1000 + 1; // server time has 1 s resolution (token iat)
  return { ok: Math.abs(skew) <= maxSkewSeconds + uncertain, skewSeconds: Math.round(skew * 10) / 10 };
}

function claimsOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function transportChecks(o: PreflightOptions, results: CheckResult[]): Promise<boolean> {
  const { host, port } = hostPort(o.config.coordinator.grpc);
  const down = await reachable(host, port, o.timeoutMs);
  if (down) {
    results.push(fail('reachable', `${o.config.coordinator.grpc} does not accept connections (${down})`));
    for (const id of ['tls', 'certChain', 'certName', 'clock', 'token'] as const) results.push(skip(id, 'not checked: the coordinator is unreachable'));
    return false;
  }
  results.push(pass('reachable', `${o.config.coordinator.grpc} accepts connections`));
  const tlsWanted = o.config.coordinator.tls !== undefined;
  const probe = await handshake({ host, port, rejectUnauthorized: false, servername: host }, o.timeoutMs);
  if (tlsWanted && !probe.ok && PLAINTEXT_ANSWER.test(`${probe.code} ${probe.message}`)) {
    results.push(fail('tls', `coordinator.tls is set but ${o.config.coordinator.grpc} answers in plaintext (${probe.code})`,
      'Either the address is a plaintext development coordinator (remove coordinator.tls, loopback only), or it is the wrong port: use the TLS gRPC port.'));
    return false;
  }
  if (!tlsWanted && probe.ok) {
    results.push(fail('tls', `${o.config.coordinator.grpc} serves TLS but coordinator.tls is not set`,
      'Set coordinator.tls.ca to the CA file that signs the coordinator certificate (medfed agent init --ca FILE).'));
    return false;
  }
  if (!tlsWanted) {
    try {
      channelCredentials(o.config.coordinator.grpc, undefined);
    } catch (err) {
      results.push(fail('tls', (err as Error).message));
      return false;
    }
    results.push(pass('tls', 'plaintext to a coordinator on this host (development)'));
    results.push(skip('certChain', 'not applicable without TLS'), skip('certName', 'not applicable without TLS'));
  } else {
    results.push(pass('tls', 'the coordinator speaks TLS, as configured'));
    let ca: Buffer | undefined;
    if (o.config.coordinator.tls?.ca) {
      try {
        ca = await readFile(o.config.coordinator.tls.ca);
      } catch (err) {
        results.push(fail('certChain', `cannot read coordinator.tls.ca ${o.config.coordinator.tls.ca} (${(err as NodeJS.ErrnoException).code})`));
        return false;
      }
    }
    const verified = await handshake({ host, port, servername: host, rejectUnauthorized: true, ...(ca ? { ca } : {}) }, o.timeoutMs);
    if (!verified.ok && CHAIN_ERRORS.test(verified.code)) {
      results.push(fail('certChain', `the coordinator certificate does not chain to ${ca ? o.config.coordinator.tls?.ca : 'the system CAs'} (${verified.code})`));
      return false;
    }
    results.push(pass('certChain', `the certificate chains to ${ca ? o.config.coordinator.tls?.ca : 'the system CAs'}`));
    if (!verified.ok && /ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match/i.test(`${verified.code} ${verified.message}`)) {
      results.push(fail('certName', `the certificate does not name ${host}: ${verified.message}`));
      return false;
    }
    if (!verified.ok) {
      results.push(fail('certChain', `TLS handshake failed: ${verified.code} ${verified.message}`));
      return false;
    }
    results.push(pass('certName', `the certificate names ${host}`));
  }
  return true;
}

async function tokenChecks(o: PreflightOptions, results: CheckResult[]): Promise<void> {
  let enrolled;
  try {
    enrolled = await loadAgentIdentity(o.config.stateDir);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    results.push(skip('clock', 'not measured: no enrolled identity to ask the coordinator for a token'));
    results.push(fail('token', message, 'Enroll this agent first: medfed agent init (or medfed agent enroll --code ...).'));
    return;
  }
  const client = new CoordinatorClient(o.config.coordinator.grpc, channelCredentials(o.config.coordinator.grpc, o.config.coordinator.tls), enrolled);
  try {
    const started = Date.now();
    let token: string;
    try {
      const md = await client.credentials!.metadataFor('/medfed.v1.Federation/Heartbeat');
      token = String(md.get('authorization')[0] ?? '').replace(/^DPoP /, '');
    } catch (err) {
      const code = err instanceof MedfedError ? err.code : 'ERROR';
      results.push(skip('clock', 'not measured: the coordinator issued no token (a skewed clock is one possible reason)'));
      results.push(fail('token', `the coordinator refused a token for ${enrolled.identity.siteId} (${code}: ${(err as Error).message})`,
        code === 'AUTH_ASSERTION_INVALID'
          ? `The assertion names issuer ${enrolled.identity.issuer}: if this coordinator has another issuer, enroll again against it; also check this host clock.`
          : undefined));
      return;
    }
    const rtt = Date.now() - started;
    const claims = claimsOf(token);
    const clock = clockSkewVerdict(Date.now(), Number(claims.iat) * 1000, rtt, o.maxSkewSeconds);
    results.push(clock.ok
      ? pass('clock', `${Math.abs(clock.skewSeconds)} s from the coordinator clock`)
      : fail('clock', `this host clock is ${Math.abs(clock.skewSeconds)} s ${clock.skewSeconds > 0 ? 'ahead of' : 'behind'} the coordinator (at most ${o.maxSkewSeconds} s is accepted)`));
    const audiences = [claims.aud].flat();
    if (claims.iss !== enrolled.identity.issuer) {
      results.push(fail('token', `tokens are issued by ${String(claims.iss)}, but this agent enrolled with ${enrolled.identity.issuer}`));
    } else if (!audiences.includes(o.audience)) {
      results.push(fail('token', `tokens are for audience ${audiences.join(', ')}, expected ${o.audience}`,
        `Pass --audience ${String(audiences[0])} if the coordinator operator changed auth.audience on purpose; otherwise ask them to restore ${o.audience}.`));
    } else {
      results.push(pass('token', `issuer ${String(claims.iss)}, audience ${o.audience}, site ${String(claims.sub)}`));
    }
  } finally {
    client.close();
  }
}

async function dataChecks(o: PreflightOptions, results: CheckResult[]): Promise<void> {
  try {
    await access(o.config.data.csv, constants.R_OK);
  } catch (err) {
    results.push(fail('data', `cannot read data.csv ${o.config.data.csv} (${(err as NodeJS.ErrnoException).code})`));
    results.push(skip('schema', 'not checked: the data file is unreadable'));
    return;
  }
  results.push(pass('data', `${o.config.data.csv} is readable`));
  try {
    const ds = await loadDataset(o.config.data.csv, { label: o.config.data.label, schemaPath: o.config.data.schema });
    results.push(pass('schema', `${ds.rowCount} rows, ${ds.columns.length} columns, label ${ds.label} (schema ${ds.schemaSource === 'file' ? o.config.data.schema : 'inferred'})`));
  } catch (err) {
    results.push(fail('schema', err instanceof Error ? err.message : String(err)));
  }
}

/**
 * The job's features and label against the local file, loaded as the agent loads it (opt-outs
 * left out, the configured share of dropped rows): the refusal round 0 would give, before it.
 */
export async function jobChecks(o: Pick<PreflightOptions, 'config' | 'job'>, results: CheckResult[], dataLoads = true): Promise<void> {
  if (o.job === undefined) return;
  let found;
  try {
    found = await findJobSpec(o.job, { stateDir: o.config.stateDir, ca: o.config.coordinator.tls?.ca });
  } catch (err) {
    results.push(fail('jobSpec', err instanceof Error ? err.message : String(err)), skip('jobData', 'not checked: no job specification'));
    return;
  }
  const { spec, from } = found;
  const named = o.job.id === undefined ? `job "${spec.name}"` : `job ${o.job.id} ("${spec.name}")`;
  if (spec.kind === 'statistics') {
    results.push(pass('jobSpec', `${named} from ${from}`), skip('jobData', 'a statistics job: its fields are checked when the query runs'));
    return;
  }
  results.push(pass('jobSpec', `${named} from ${from}: label ${spec.label}, features ${listed(spec.features)}`));
  if (!dataLoads) {
    results.push(skip('jobData', 'not checked: the data does not load (see the schema check)'));
    return;
  }
  const share = o.config.data.maxDroppedShare;
  try {
    const optOut = await readOptOut(optOutPath(o.config.stateDir, o.config.data.optOutFile), o.config.data.patientIdColumn);
    const dataset = await loadDataset(o.config.data.csv, {
      label: o.config.data.label, schemaPath: o.config.data.schema, optOut, ...(share === undefined ? {} : { maxDroppedShare: share }),
    });
    results.push(pass('jobData', fitDetail(checkDataForJob(dataset, spec), share ?? DEFAULT_MAX_DROPPED_SHARE)));
  } catch (err) {
    const code = err instanceof MedfedError ? `${err.code}: ` : '';
    results.push(fail('jobData', `${code}${err instanceof Error ? err.message : String(err)}`));
  }
}

function fitDetail(fit: DataFitReport, share: number): string {
  const usable = `${fit.usableRows} of ${fit.rowCount} rows usable`;
  if (fit.droppedRows === 0) return `${usable}, none dropped`;
  const columns = fit.droppedByColumn.map((c) => `${c.column} ${[c.unparsable ? `${c.unparsable} unparsable` : '', c.empty ? `${c.empty} empty` : ''].filter(Boolean).join(', ')}`);
  return `${usable}; ${fit.droppedRows} dropped (${columns.join('; ')}), within the ${Number((share * 100).toFixed(1))}% this site accepts (data.maxDroppedShare)`;
}

function listed(names: readonly string[]): string {
  return names.length <= 8 ? names.join(', ') : `${names.slice(0, 8).join(', ')} and ${names.length - 8} more`;
}

/** Runs every check; never throws for a failed check (each becomes a result). */
export async function runPreflight(o: PreflightOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [pass('config', `site ${o.config.siteId}, coordinator ${o.config.coordinator.grpc}, agent ${AGENT_VERSION}`)];
  if (await transportChecks(o, results)) await tokenChecks(o, results);
  await dataChecks(o, results);
  await jobChecks(o, results, results.find((r) => r.id === 'schema')?.ok === true);
  const sandbox = await sandboxAvailability({ refresh: true, ...(o.bwrap ? { bwrap: o.bwrap } : {}) });
  const firstFix = sandbox.checks.find((c) => !c.ok)?.fix;
  results.push(sandbox.available ? pass('sandbox', sandbox.summary) : fail('sandbox', sandbox.summary, firstFix ?? undefined));
  return results;
}

const ORDER = Object.keys(PREFLIGHT_CHECKS) as PreflightCheckId[];

/** The exit code: the first failed check in the published order, or 0. */
export function preflightExitCode(results: readonly CheckResult[]): number {
  for (const id of ORDER) {
    const r = results.find((x) => x.id === id && x.ok === false);
    if (r) return r.exit ?? ExitCode.FAILURE;
  }
  return ExitCode.OK;
}

function render(results: readonly CheckResult[]): string {
  const mark = (ok: boolean | null) => (process.stdout.isTTY ? (ok === null ? '–' : ok ? '✓' : '✗') : ok === null ? 'skip' : ok ? 'ok' : 'FAIL');
  return results.map((r) => {
    const head = `${mark(r.ok)} ${r.title}: ${r.detail}`;
    return r.ok === false ? `${head}\n    ${r.code} (exit ${r.exit})\n    fix: ${r.fix}` : head;
  }).join('\n');
}

function parseSeconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 300) throw new InvalidArgumentError('must be an integer from 0 to 300');
  return Number(value);
}

export function register(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('run a hospital node agent');
  agent.command('preflight')
    .description(`check this host before the first run; each failure explains itself and has its own exit code: ${ORDER.map((id) => `${PREFLIGHT_CHECKS[id].exit} ${id}`).join(', ')}`)
    .option('-c, --config <file>', 'the agent\'s YAML or JSON configuration file (as for agent start)')
    .option('--site <id>', 'this site\'s id')
    .option('--coordinator <host:port>', 'the coordinator\'s gRPC address')
    .option('--ca <file>', 'CA certificate (PEM) that signs the coordinator\'s TLS certificate')
    .option('--data <file.csv>', 'local dataset (CSV)')
    .option('--label <column>', 'label column of the dataset')
    .option('--schema <file>', 'dataset schema file (JSON or YAML)')
    .option('--state-dir <dir>', 'private state directory of this agent (holds its key)')
    .option('--audience <aud>', 'the audience coordinator tokens must carry', 'medfed-api')
    .option('--max-skew <seconds>', 'largest accepted clock difference to the coordinator', parseSeconds, 5)
    .option('--bwrap <path>', 'bubblewrap binary to check (default: the one on PATH)')
    .option('--job <id>', 'also check the data against this job\'s features and label, as round 0 will (spec: announced to this agent, else GET /v1/jobs/:id)', parseJobId)
    .option('--spec <file>', 'the job\'s spec as JSON (as submitted, or the body of GET /v1/jobs/:id) instead of fetching it')
    .option('--rest <url>', 'the coordinator\'s REST URL, to fetch --job\'s spec (default MEDFED_COORDINATOR_URL or http://127.0.0.1:8080)')
    .option('--key-file <file>', 'API key of this site\'s steward, to fetch --job\'s spec (default MEDFED_API_KEY or MEDFED_API_KEY_FILE)')
    .option('--timeout <ms>', 'network timeout per check, milliseconds', (v) => {
      if (!/^\d+$/.test(v) || Number(v) < 100 || Number(v) > 60_000) throw new InvalidArgumentError('must be 100 to 60000');
      return Number(v);
    }, 5000)
    .option('--format <format>', 'text or json', (v) => {
      if (v !== 'text' && v !== 'json') throw new InvalidArgumentError('must be text or json');
      return v;
    }, 'text')
    .action(async (opts: Record<string, string | number | undefined>) => {
      let config: AgentConfig;
      try {
        config = await loadAgentConfig({
          file: opts.config as string | undefined,
          overrides: {
            siteId: opts.site, 'coordinator.grpc': opts.coordinator, 'coordinator.tls.ca': opts.ca, 'data.csv': opts.data, 'data.label': opts.label,
            'data.schema': opts.schema, stateDir: opts.stateDir,
          },
        });
      } catch (err) {
        const r = fail('config', err instanceof Error ? err.message : String(err));
        if (opts.format === 'json') process.stdout.write(`${JSON.stringify({ ok: false, exit: r.exit, checks: [r] })}\n`);
        else process.stdout.write(`${render([r])}\n`);
        process.exit(r.exit ?? ExitCode.CONFIG);
      }
      try {
        const results = await runPreflight({
          config, audience: String(opts.audience), maxSkewSeconds: Number(opts.maxSkew), timeoutMs: Number(opts.timeout),
          bwrap: opts.bwrap as string | undefined,
          job: opts.job === undefined && opts.spec === undefined ? undefined : {
            id: opts.job as string | undefined, specFile: opts.spec as string | undefined,
            rest: opts.rest as string | undefined, keyFile: opts.keyFile as string | undefined,
          },
        });
        const exit = preflightExitCode(results);
        process.stdout.write(opts.format === 'json' ? `${JSON.stringify({ ok: exit === 0, exit, checks: results })}\n` : `${render(results)}\n`);
        process.exit(exit);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
