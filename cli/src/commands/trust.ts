import { createHash, type X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { Command } from 'commander';
import { MedfedError } from '@medfed/proto';
import { noteVerifier } from '@medfed/proto/tlog/index';
import {
  TRUST_BUNDLE_FILES, TRUST_MANIFEST_FILE, certificateExpiry, describeExpiry, expiryWarningDays, parseTrustManifest, pemExpiries, writeTrustBundle,
  type CoordinatorIdentity, type ExpiryStatus, type TrustBundle, type TrustBundleManifest, type TrustFileRole,
} from '@medfed/proto/trust/index';
import { loadCoordinatorConfig } from '@medfed/coordinator';
import { advertisedAddress } from '@medfed/coordinator/server';
import { loadAgentConfig } from '@medfed/node-agent';
import {
  importTrustBundle, pinnedTrustRoot, previousTrustVersions, readPinnedTrust, trustBundleExpiries,
} from '@medfed/node-agent/verification/trust-bundle';
import { TrustError } from '@medfed/node-agent/verification/index';
import { ExitCode } from '../exit-codes.js';
import { CliError, reportAndExit } from '../fail.js';
import { RestClient } from '../federation/rest-client.js';
import { coordinatorUrl, parseFormat, resolveCa, resolveCredential, withConnection, type Connection } from '../coordinator-connection.js';
import { parseNonNegativeInt, parsePositiveInt } from '../options.js';

/**
 * The consortium trust bundle (docs/trust.md).
 *
 * `medfed trust export --out DIR` (the coordinator's operator): the CA certificate, the manifest and
 * token JWKS, the log verifier key and the coordinator's identity, listed with their SHA-256 in
 * trust.json; prints the bundle's fingerprint, which sites compare over the phone.
 * `medfed agent trust import DIR --fingerprint F` (each site): checks the fingerprint and every file,
 * then pins the bundle in the agent's state dir. `medfed agent trust show`: what is pinned.
 *
 * Exit codes: 0 done; 2 usage (a malformed fingerprint included); 3 a configuration, CA or damaged
 * pinned bundle; 4 no bundle in DIR; 5 coordinator unreachable; 6 no usable or a refused credential;
 * 7 the fingerprint does not match or a file is not what trust.json says; 8 an older version, or
 * the pinned version with other content; 1 nothing is pinned (show) or anything else.
 */
const TRUST_EXITS: Readonly<Record<string, ExitCode>> = {
  TRUST_BUNDLE_FINGERPRINT_INVALID: ExitCode.USAGE,
  TRUST_BUNDLE_MISSING: ExitCode.DATA,
  TRUST_BUNDLE_INVALID: ExitCode.VERIFY_FAILED,
  TRUST_BUNDLE_FINGERPRINT_MISMATCH: ExitCode.VERIFY_FAILED,
  TRUST_BUNDLE_VERSION_OLDER: ExitCode.REFUSED,
  TRUST_BUNDLE_VERSION_REUSED: ExitCode.REFUSED,
  TRUST_ANCHORS_INVALID: ExitCode.CONFIG,
  TRUST_STATE_INVALID: ExitCode.CONFIG,
  TRUST_ANCHORS_MISSING: ExitCode.FAILURE,
};

/** A command action: exit 0, or the failure reported with its exit code (this module's table first). */
function trustAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
      process.exit(ExitCode.OK);
    } catch (err) {
      const exit = err instanceof MedfedError && !(err instanceof CliError) ? TRUST_EXITS[err.code] : undefined;
      reportAndExit(exit === undefined ? err : new CliError((err as MedfedError).code, (err as Error).message, exit));
    }
  };
}

const out = (text: string) => void process.stdout.write(text);

/** Warning lines on stderr, one per certificate expired or expiring within the threshold. */
function warnExpiring(command: string, statuses: readonly ExpiryStatus[]): void {
  for (const s of statuses.filter((x) => x.warning)) process.stderr.write(`medfed ${command}: warning: ${describeExpiry(s)}\n`);
}

function warningDaysOf(flag: number | undefined): number {
  if (flag !== undefined) return flag;
  try {
    return expiryWarningDays();
  } catch (err) {
    throw new CliError('CONFIG_INVALID', (err as Error).message, ExitCode.CONFIG);
  }
}

function describeCoordinator(c: CoordinatorIdentity): string {
  return `${c.rest} (gRPC ${c.grpc})${c.consortium ? `, consortium ${c.consortium}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// export

interface ExportOptions extends Connection {
  out: string;
  config?: string;
  grpc?: string;
  consortium?: string;
  bundleVersion?: number;
  expiryWarningDays?: number;
}

interface PublishedAnchors {
  manifestJwks: unknown;
  tokenJwks: unknown;
  logKey: string;
}

/** The certificate an https coordinator serves (for its expiry only: trust was checked by the REST call); null otherwise. */
function servedCertificate(base: string, ca: Buffer | undefined): Promise<X509Certificate | null> {
  const url = new URL(base);
  if (url.protocol !== 'https:') return Promise.resolve(null);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((done) => {
    const socket = tlsConnect({ host, port: Number(url.port || 443), ca, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) }, () => {
      const cert = socket.getPeerX509Certificate() ?? null;
      socket.end();
      done(cert);
    });
    socket.setTimeout(10_000, () => { socket.destroy(); done(null); });
    socket.on('error', () => done(null));
  });
}

/** The manifest of the bundle already in DIR (null when there is none). */
async function previousManifest(dir: string): Promise<TrustBundleManifest | null> {
  const text = await readFile(resolve(dir, TRUST_MANIFEST_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new CliError('DATA_UNREADABLE', `cannot read ${resolve(dir, TRUST_MANIFEST_FILE)}: ${err.code ?? err.message}`, ExitCode.DATA);
  });
  if (text === null) return null;
  try {
    return parseTrustManifest(JSON.parse(text));
  } catch (err) {
    throw new CliError('USAGE_OUT_NOT_A_BUNDLE', `--out ${dir} holds a ${TRUST_MANIFEST_FILE} that is not a trust bundle manifest (${(err as Error).message}); choose another directory`, ExitCode.USAGE);
  }
}

function sameContent(previous: TrustBundleManifest, coordinator: CoordinatorIdentity, files: Partial<Record<TrustFileRole, string | Buffer>>): boolean {
  const digests = Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined).map(([role, v]) => [role, createHash('sha256').update(v!).digest('hex')]));
  return JSON.stringify(previous.coordinator) === JSON.stringify(coordinator)
    && previous.files.length === Object.keys(digests).length
    && previous.files.every((f) => digests[f.role] === f.sha256);
}

async function exportBundle(opts: ExportOptions): Promise<void> {
  const warningDays = warningDaysOf(opts.expiryWarningDays);
  const config = opts.config === undefined ? undefined : await loadCoordinatorConfig({ file: opts.config }).catch((err: Error) => {
    throw new CliError('CONFIG_INVALID', err.message, ExitCode.CONFIG);
  });
  const advertised = config ? advertisedAddress(config) : undefined;
  const base = coordinatorUrl(opts, process.env, { fallback: advertised === undefined }) ?? advertised!.rest;
  const grpc = opts.grpc ?? advertised?.grpc;
  if (!grpc) throw new CliError('USAGE_GRPC_ADDRESS_MISSING', 'give the gRPC address sites connect to with --grpc HOST:PORT (or the coordinator configuration with --config)', ExitCode.USAGE);
  const ca = (await resolveCa(opts, process.env)) ?? (config?.tls?.ca ? await readFile(config.tls.ca).catch((err: NodeJS.ErrnoException) => {
    throw new CliError('CONFIG_CA_UNREADABLE', `cannot read tls.ca ${config.tls!.ca} of ${opts.config}: ${err.code ?? err.message}`, ExitCode.CONFIG);
  }) : undefined);
  const client = new RestClient(base, await resolveCredential(opts, process.env), { ca });
  // Over https this call also proves that the CA signs the certificate the coordinator serves.
  const anchors = await client.call<PublishedAnchors>('GET', '/v1/trust/anchors');
  const served = await servedCertificate(base, ca);

  const coordinator: CoordinatorIdentity = { rest: base, grpc, consortium: opts.consortium ?? null, logOrigin: noteVerifier(anchors.logKey).name };
  const files: Partial<Record<TrustFileRole, string | Buffer>> = {
    ...(ca ? { ca } : {}),
    'manifest-jwks': `${JSON.stringify(anchors.manifestJwks, null, 2)}\n`,
    'token-jwks': `${JSON.stringify(anchors.tokenJwks, null, 2)}\n`,
    'log-key': `${anchors.logKey.trim()}\n`,
  };
  const previous = await previousManifest(opts.out);
  if (previous && opts.bundleVersion !== undefined && opts.bundleVersion <= previous.version) {
    throw new CliError('USAGE_BUNDLE_VERSION', `--out ${opts.out} holds version ${previous.version}; a new bundle needs a higher --bundle-version`, ExitCode.USAGE);
  }
  const unchanged = previous !== null && opts.bundleVersion === undefined && sameContent(previous, coordinator, files);
  const written = unchanged
    ? await writeTrustBundle(opts.out, { version: previous.version, createdAt: new Date(previous.createdAt), coordinator, files })
    : await writeTrustBundle(opts.out, { version: opts.bundleVersion ?? (previous ? previous.version + 1 : 1), createdAt: new Date(), coordinator, files });
  const expiry = [...(ca ? pemExpiries('ca', ca, { warningDays }) : []), ...(served ? [certificateExpiry('tls-server', served, { warningDays })] : [])];
  const { manifest, fingerprint } = written;

  if (opts.format === 'json') {
    out(`${JSON.stringify({ event: 'trust-bundle-exported', dir: resolve(opts.out), version: manifest.version, fingerprint, unchanged, createdAt: manifest.createdAt, coordinator: manifest.coordinator, files: manifest.files, expiry })}\n`);
  } else {
    out([
      `${unchanged ? 'unchanged: ' : 'wrote '}trust bundle version ${manifest.version} in ${resolve(opts.out)}`,
      `  coordinator  ${describeCoordinator(manifest.coordinator)}`,
      `  log          ${manifest.coordinator.logOrigin}`,
      ...manifest.files.map((f) => `  ${f.name.padEnd(19)}SHA-256 ${f.sha256}`),
      `fingerprint  ${fingerprint}`,
      "Read the fingerprint to each site's steward over the phone; each site pins the bundle with:",
      `  medfed agent trust import DIR --fingerprint ${fingerprint}`,
      '',
    ].join('\n'));
  }
  if (!ca) process.stderr.write('medfed trust export: warning: the bundle holds no CA certificate: the coordinator serves plain HTTP (development only), or pass --ca FILE\n');
  warnExpiring('trust export', expiry);
}

// ---------------------------------------------------------------------------------------------
// agent trust import | show

interface AgentTrustOptions {
  config?: string;
  stateDir?: string;
  format: 'text' | 'json';
  expiryWarningDays?: number;
}

/** The agent's state dir: --state-dir, else the config file's stateDir, else the default (the pinned bundle is not read). */
async function agentStateDir(opts: AgentTrustOptions): Promise<string> {
  if (opts.stateDir !== undefined) return resolve(opts.stateDir);
  if (opts.config !== undefined) return resolve((await loadAgentConfig({ file: opts.config, env: {}, pinnedTrust: false })).stateDir);
  return resolve('./medfed-agent');
}

/** What in the agent's config takes precedence over the pinned bundle. */
async function configOverrides(opts: AgentTrustOptions): Promise<string[]> {
  if (opts.config === undefined) return [];
  const config = await loadAgentConfig({ file: opts.config, env: {}, pinnedTrust: false });
  return [
    ...(config.trust.manifestJwks !== undefined || config.trust.checkpointKey !== undefined ? ['trust.manifestJwks / trust.checkpointKey'] : []),
    ...(config.coordinator.tls?.ca ? ['coordinator.tls.ca'] : []),
  ];
}

function bundleSummary(bundle: TrustBundle): string[] {
  return [
    `  exported     ${bundle.manifest.createdAt}`,
    `  coordinator  ${describeCoordinator(bundle.manifest.coordinator)}`,
    `  log          ${bundle.manifest.coordinator.logOrigin}`,
    ...bundle.manifest.files.map((f) => `  ${f.name.padEnd(19)}SHA-256 ${f.sha256}`),
  ];
}

async function importBundle(dir: string, opts: AgentTrustOptions & { fingerprint: string }): Promise<void> {
  const warningDays = warningDaysOf(opts.expiryWarningDays);
  const stateDir = await agentStateDir(opts);
  const result = await importTrustBundle(stateDir, dir, opts.fingerprint, { by: userInfo().username });
  const { bundle } = result;
  const expiry = trustBundleExpiries(bundle, { warningDays });
  const overrides = await configOverrides(opts);
  if (opts.format === 'json') {
    out(`${JSON.stringify({ event: result.outcome === 'pinned' ? 'trust-bundle-pinned' : 'trust-bundle-unchanged', version: bundle.manifest.version, fingerprint: bundle.fingerprint, dir: result.dir, previous: result.previous, coordinator: bundle.manifest.coordinator, overriddenBy: overrides, expiry })}\n`);
  } else {
    out([
      result.outcome === 'pinned'
        ? `pinned trust bundle version ${bundle.manifest.version} (fingerprint ${bundle.fingerprint}) in ${result.dir}`
        : `already pinned: trust bundle version ${bundle.manifest.version} (fingerprint ${bundle.fingerprint}); nothing changed`,
      ...bundleSummary(bundle),
      ...(result.previous ? [`  replaced     version ${result.previous.version} (fingerprint ${result.previous.fingerprint}), kept in ${pinnedTrustRoot(stateDir)}/v${result.previous.version}`] : []),
      ...(overrides.length > 0
        ? [`note: ${opts.config} sets ${overrides.join(' and ')}, which take precedence over the pinned bundle; remove them to use it`]
        : ['the agent uses it from its next start wherever its configuration sets no trust.manifestJwks / trust.checkpointKey and no coordinator.tls.ca']),
      '',
    ].join('\n'));
  }
  warnExpiring('agent trust import', expiry);
}

async function showPinned(opts: AgentTrustOptions): Promise<void> {
  const warningDays = warningDaysOf(opts.expiryWarningDays);
  const stateDir = await agentStateDir(opts);
  const bundle = await readPinnedTrust(stateDir);
  if (!bundle) {
    throw new TrustError('TRUST_ANCHORS_MISSING', `no trust bundle is pinned in ${pinnedTrustRoot(stateDir)}: import the coordinator's with medfed agent trust import DIR --fingerprint F`);
  }
  const previous = await previousTrustVersions(stateDir);
  const expiry = trustBundleExpiries(bundle, { warningDays });
  const overrides = await configOverrides(opts);
  if (opts.format === 'json') {
    out(`${JSON.stringify({ version: bundle.manifest.version, fingerprint: bundle.fingerprint, dir: pinnedTrustRoot(stateDir), createdAt: bundle.manifest.createdAt, coordinator: bundle.manifest.coordinator, files: bundle.manifest.files, previous, overriddenBy: overrides, expiry })}\n`);
  } else {
    out([
      `trust bundle version ${bundle.manifest.version}, fingerprint ${bundle.fingerprint}, pinned in ${pinnedTrustRoot(stateDir)}`,
      ...bundleSummary(bundle),
      ...expiry.map((s) => `  ${s.name.padEnd(19)}expires ${s.notAfter} (${s.daysLeft} days)`),
      ...previous.map((p) => `  previous     version ${p.version} (fingerprint ${p.fingerprint}), imported ${p.at}`),
      ...(overrides.length > 0 ? [`note: ${opts.config} sets ${overrides.join(' and ')}, which take precedence over the pinned bundle`] : []),
      '',
    ].join('\n'));
  }
  warnExpiring('agent trust show', expiry);
}

function agentTrustOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', "the agent's configuration file (for its stateDir)")
    .option('--state-dir <dir>', "the agent's state directory (default: the configuration's, else ./medfed-agent)")
    .option('--expiry-warning-days <n>', 'warn about certificates expiring within this many days (default: MEDFED_EXPIRY_WARNING_DAYS, else 30)', parseNonNegativeInt)
    .option('--format <format>', 'text or json', parseFormat, 'text');
}

export function register(program: Command): void {
  const trust = program.command('trust').description("the consortium trust bundle: the coordinator's CA and public keys that every site pins");
  withConnection(trust.command('export'))
    .description("write the trust bundle (CA certificate, manifest and token JWKS, log verifier key, the coordinator's identity, trust.json) and print its fingerprint")
    .requiredOption('--out <dir>', 'the bundle directory (created; an earlier bundle there is replaced by the next version)')
    .option('-c, --config <file>', "the coordinator's configuration file: its advertised gRPC address and, without --ca, its tls.ca")
    .option('--grpc <host:port>', 'the gRPC address sites connect to (default: the configuration\'s advertised address)')
    .option('--consortium <name>', "the consortium's name, recorded in the bundle")
    .option('--bundle-version <n>', 'the bundle version (default: 1, or one more than the bundle in --out when anything changed)', parsePositiveInt)
    .option('--expiry-warning-days <n>', 'warn about certificates expiring within this many days (default: MEDFED_EXPIRY_WARNING_DAYS, else 30)', parseNonNegativeInt)
    .action(trustAction(exportBundle));

  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('run a hospital node agent');
  const agentTrust = agent.command('trust').description("the coordinator's trust bundle pinned at this site");
  agentTrustOptions(agentTrust.command('import'))
    .description("pin the coordinator's trust bundle after checking its fingerprint; a newer version replaces the pinned one (kept for audit)")
    .argument('<dir>', 'the bundle directory (from medfed trust export)')
    .requiredOption('--fingerprint <fingerprint>', "the fingerprint the coordinator's operator announced (8 groups of 4 characters)")
    .action(trustAction(importBundle));
  agentTrustOptions(agentTrust.command('show'))
    .alias('status')
    .description('print the pinned trust bundle: version, fingerprint, coordinator, files, certificate expiry, earlier versions')
    .action(trustAction(showPinned));
}
