import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadAgentConfig } from '@medfed/node-agent';
import { ensureSiteKeys } from '@medfed/node-agent/custody/site-keys';
import { consortiumOf } from '@medfed/node-agent/governance/consortium';
import {
  ROSTER_CONSORTIUM, auditPurgeClaims, ed25519Thumbprint, readRoster, rosterDigest, signStewardApproval,
  type Ed25519PublicJwk, type StewardApprovalClaims,
} from '@medfed/proto/governance/index';
import { CliError, reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import { parseExpiresIn } from './agent-approve-release.js';
import { isoInstant, writeApprovalFile } from './approval-files.js';

/**
 * Signing the consortium's decisions from the command line (docs/governance.md). Each writes one
 * signed approval (a compact JWS) to --out, for the admin to pass on with --approval FILE:
 * - `medfed agent sign-purge --config AGENT.yaml --before T`: this site's steward approves purging
 *   the audit entries before T inside the retention period (step audit-purge), with the site's
 *   steward key, for the consortium the agent belongs to;
 * - `medfed agent sign-rule --config AGENT.yaml --roster NEW.json`: the steward approves replacing
 *   the roster installed on the coordinator by NEW (step governance-rule over NEW's digest);
 * - `medfed audit sign-purge --key AUDITOR.jwk --auditor ID --consortium C --before T`: an auditor
 *   the roster names approves the purge with the private key whose public half the roster lists.
 * Approvals are short-lived (--expires-in, 24 h by default, at most 30 days) and bound to one purge
 * or one roster: nothing signed here approves anything else.
 */

interface Signed {
  readonly claims: StewardApprovalClaims;
  readonly jws: string;
  readonly key: string;
}

function expiresAt(expiresIn: string, now = new Date()): number {
  return Math.floor(now.getTime() / 1000) + parseExpiresIn(expiresIn);
}

/** This site's steward: its id, its consortium, and the steward key in its agent's state dir. */
async function stewardOf(configFile: string): Promise<{ siteId: string; consortium: string; key: { privateKey: never; publicJwk: Ed25519PublicJwk; thumbprint: string } }> {
  const config = await loadAgentConfig({ file: configFile, env: {} });
  const stateDir = resolve(config.stateDir);
  // A steward key made here on the spot would be on no roster: only the site's existing key signs.
  const keyFile = join(stateDir, 'custody', 'steward.jwk');
  if (!(await stat(keyFile).then((s) => s.isFile(), () => false))) {
    throw new CliError('CONFIG_STEWARD_KEY_MISSING', `${keyFile} does not exist: this is not the state directory of ${config.siteId}'s agent (its steward key is created when the agent first starts)`, ExitCode.CONFIG);
  }
  const steward = (await ensureSiteKeys(stateDir)).steward;
  return {
    siteId: config.siteId, consortium: await consortiumOf(config),
    key: { privateKey: steward.privateKey as never, publicJwk: steward.publicJwk as Ed25519PublicJwk, thumbprint: steward.thumbprint },
  };
}

/** An auditor's private Ed25519 JWK, from a file only its owner can read. */
async function auditorKey(file: string): Promise<{ privateKey: { x: string; d: string }; publicJwk: Ed25519PublicJwk; thumbprint: string }> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new CliError('CONFIG_KEY_UNREADABLE', `--key ${file} cannot be read: ${err.code ?? err.message}`, ExitCode.CONFIG);
  });
  if ((info.mode & 0o077) !== 0) {
    throw new CliError('CONFIG_KEY_FILE_EXPOSED', `--key ${file} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it`, ExitCode.CONFIG);
  }
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new CliError('CONFIG_KEY_UNREADABLE', `--key ${file} is not a JSON JWK`, ExitCode.CONFIG);
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw new CliError('CONFIG_KEY_UNREADABLE', `--key ${file} must be a private Ed25519 JWK {kty: OKP, crv: Ed25519, x, d}`, ExitCode.CONFIG);
  }
  const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  return { privateKey: { x: jwk.x, d: jwk.d }, publicJwk, thumbprint: ed25519Thumbprint(publicJwk) };
}

/** Signs a purge approval as this site's steward. */
export async function signPurgeAsSteward(opts: { config: string; before: string; expiresIn: string }): Promise<Signed & { before: string }> {
  const before = isoInstant(opts.before, '--before');
  const when = expiresAt(opts.expiresIn);
  const steward = await stewardOf(opts.config);
  const claims = auditPurgeClaims({ consortium: steward.consortium, before }, { role: 'steward', id: steward.siteId }, when);
  return { claims, jws: signStewardApproval(claims, steward.key), key: steward.key.thumbprint, before };
}

/** Signs a purge approval as a roster auditor. */
export async function signPurgeAsAuditor(opts: { key: string; auditor: string; consortium: string; before: string; expiresIn: string }): Promise<Signed & { before: string }> {
  const before = isoInstant(opts.before, '--before');
  if (!ROSTER_CONSORTIUM.test(opts.consortium)) throw new CliError('USAGE_CONSORTIUM', `--consortium ${JSON.stringify(opts.consortium)} is not a consortium name`, ExitCode.USAGE);
  const when = expiresAt(opts.expiresIn);
  const key = await auditorKey(opts.key);
  const claims = auditPurgeClaims({ consortium: opts.consortium, before }, { role: 'auditor', id: opts.auditor }, when);
  return { claims, jws: signStewardApproval(claims, key), key: key.thumbprint, before };
}

/** Signs, as this site's steward, the replacement of the installed roster by `roster`. */
export async function signRuleAsSteward(opts: { config: string; roster: string; expiresIn: string }): Promise<Signed & { version: number }> {
  const roster = await readRoster(opts.roster);
  const when = expiresAt(opts.expiresIn);
  const steward = await stewardOf(opts.config);
  if (roster.consortium !== steward.consortium) {
    throw new CliError('STEWARD_APPROVAL_MISMATCH', `${opts.roster} is a roster of ${roster.consortium}; this site belongs to ${steward.consortium}`, ExitCode.REFUSED);
  }
  const claims: StewardApprovalClaims = {
    consortium: roster.consortium, job: null, release: null, round: null, step: 'governance-rule', inputSha256: rosterDigest(roster),
    expiresAt: when, signerRole: 'steward', signer: steward.siteId,
  };
  return { claims, jws: signStewardApproval(claims, steward.key), key: steward.key.thumbprint, version: roster.version };
}

function describe(signed: Signed, what: string, out: string, next: string): string {
  const c = signed.claims;
  return [
    `signed as ${c.signerRole} ${c.signer} of ${c.consortium} (key ${signed.key}): ${what}`,
    `  input SHA-256 ${c.inputSha256}, valid until ${new Date(c.expiresAt * 1000).toISOString()}`,
    `wrote ${out}; ${next}`,
  ].join('\n');
}

function json(signed: Signed, out: string, extra: Record<string, unknown>): string {
  const c = signed.claims;
  return JSON.stringify({
    event: 'approval-signed', step: c.step, consortium: c.consortium, signerRole: c.signerRole, signer: c.signer, key: signed.key,
    inputSha256: c.inputSha256, expiresAt: new Date(c.expiresAt * 1000).toISOString(), out, ...extra,
  });
}

const EXPIRES = ['--expires-in <duration>', 'how long the approval stays valid (e.g. 30m, 24h, 7d; at most 30d)', '24h'] as const;

export function register(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('run a hospital node agent');
  agent.command('sign-purge')
    .description("approve, as this site's steward, purging the audit entries before --before inside the retention period: writes the signed approval to --out")
    .requiredOption('-c, --config <file>', "the agent's configuration file (its siteId, stateDir with the steward key, consortium)")
    .requiredOption('--before <time>', 'the purge cut-off exactly as the admin will give it to medfed audit purge (ISO 8601)')
    .requiredOption('--out <file>', 'where to write the signed approval')
    .option(...EXPIRES)
    .option('--json', 'print what was signed as JSON')
    .action(async (opts: { config: string; before: string; out: string; expiresIn: string; json?: boolean }) => {
      try {
        const signed = await signPurgeAsSteward(opts);
        const out = await writeApprovalFile(opts.out, signed.jws);
        process.stdout.write(`${opts.json ? json(signed, out, { before: signed.before })
          : describe(signed, `purge of the audit entries before ${signed.before}`, out, `the admin passes it on with medfed audit purge --before ${signed.before} --force --approval ${opts.out} ...`)}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });

  agent.command('sign-rule')
    .description("approve, as this site's steward, replacing the roster installed on the coordinator by --roster (a changed rule): writes the signed approval to --out")
    .requiredOption('-c, --config <file>', "the agent's configuration file (its siteId, stateDir with the steward key, consortium)")
    .requiredOption('--roster <file>', 'the new roster (its signed content is what is approved; review it with medfed agent roster show FILE)')
    .requiredOption('--out <file>', 'where to write the signed approval')
    .option(...EXPIRES)
    .option('--json', 'print what was signed as JSON')
    .action(async (opts: { config: string; roster: string; out: string; expiresIn: string; json?: boolean }) => {
      try {
        const signed = await signRuleAsSteward(opts);
        const out = await writeApprovalFile(opts.out, signed.jws);
        process.stdout.write(`${opts.json ? json(signed, out, { version: signed.version })
          : describe(signed, `roster ${signed.claims.consortium} v${signed.version} as the consortium's rule`, out, `the admin passes it on with medfed governance roster install ${opts.roster} --approval ${opts.out} ...`)}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });

  const audit = program.commands.find((c) => c.name() === 'audit') ?? program.command('audit');
  audit.command('sign-purge')
    .description('approve, as an auditor the consortium roster names, purging the audit entries before --before inside the retention period: writes the signed approval to --out')
    .requiredOption('--key <file>', "the auditor's private Ed25519 JWK (mode 0600); the roster lists its public half")
    .requiredOption('--auditor <id>', 'the auditor id as the roster lists it')
    .requiredOption('--consortium <name>', 'the consortium (as the roster names it)')
    .requiredOption('--before <time>', 'the purge cut-off exactly as the admin will give it to medfed audit purge (ISO 8601)')
    .requiredOption('--out <file>', 'where to write the signed approval')
    .option(...EXPIRES)
    .option('--json', 'print what was signed as JSON')
    .action(async (opts: { key: string; auditor: string; consortium: string; before: string; out: string; expiresIn: string; json?: boolean }) => {
      try {
        const signed = await signPurgeAsAuditor(opts);
        const out = await writeApprovalFile(opts.out, signed.jws);
        process.stdout.write(`${opts.json ? json(signed, out, { before: signed.before })
          : describe(signed, `purge of the audit entries before ${signed.before}`, out, `the admin passes it on with medfed audit purge --before ${signed.before} --force --approval ${opts.out} ...`)}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
