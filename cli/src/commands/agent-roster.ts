import { access, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  addRosterAuditor, addRosterSite, importRoster, loadSiteIdentity, newRoster, pinFingerprint, readRoster, rosterSignatures, rosterSiteFromIdentity,
  setRosterRules, signRoster, writeRoster, type Roster, type RosterSite,
} from '@medfed/node-agent/custody/index';
import { CliError } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import { describePinOutcome, reportCustodyAndExit, siteOf, type SiteOptions } from './agent-identity.js';

function usage(code: string, message: string): CliError {
  return new CliError(code, message, ExitCode.USAGE);
}

/** A public JWK as given on the command line. */
type Jwk = RosterSite['stewardPublicJwk'];

function parseJwk(text: string, flag: string): Jwk {
  try {
    return JSON.parse(text) as Jwk;
  } catch {
    throw usage('USAGE_JWK_INVALID', `${flag} must be a JWK as JSON, e.g. '{"kty":"OKP","crv":"Ed25519","x":"..."}'`);
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw usage('USAGE_FILE_UNREADABLE', `${what} ${path} cannot be read: ${(err as { code?: string }).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw usage('USAGE_FILE_UNREADABLE', `${what} ${path} is not JSON`);
  }
}

async function describeRoster(roster: Roster): Promise<string> {
  const { signed, unsigned } = await rosterSignatures(roster);
  return [
    `roster of ${roster.consortium}, version ${roster.version}`,
    ...roster.sites.map((s) => `  ${s.siteId}  fingerprint ${pinFingerprint(s)}  ${signed.includes(s.siteId) ? 'signed' : 'NOT SIGNED'}`),
    ...(roster.auditors ?? []).map((a) => `  auditor ${a.auditorId}  key ${a.keyThumbprint}`),
    ...(roster.rules?.auditRetentionDays !== undefined ? [`  rule: keep audit entries at least ${roster.rules.auditRetentionDays} days`] : []),
    unsigned.length === 0 ? 'every listed steward signed it: each site can import it (medfed agent roster import FILE)' : `waiting for the signatures of: ${unsigned.join(', ')}`,
  ].join('\n');
}

interface AddOptions {
  identity?: string;
  site?: string;
  stewardThumbprint?: string;
  kexThumbprint?: string;
  stewardJwk?: string;
  auditor?: string;
  auditorJwk?: string;
  replace?: boolean;
}

/** The site (or auditor) `roster add` names: one identity file, or the site flags, or the auditor flags. */
async function entryToAdd(opts: AddOptions): Promise<{ site: RosterSite } | { auditor: { auditorId: string; publicJwk: Jwk } }> {
  const siteFlags = [opts.site, opts.stewardThumbprint, opts.kexThumbprint, opts.stewardJwk];
  const forms = [opts.identity !== undefined, siteFlags.some((f) => f !== undefined), opts.auditor !== undefined || opts.auditorJwk !== undefined];
  if (forms.filter(Boolean).length !== 1) {
    throw usage('USAGE_ROSTER_ADD', 'give one of: --identity FILE; --site S --steward-thumbprint T1 --kex-thumbprint T2 --steward-jwk JSON; --auditor ID --auditor-jwk JSON');
  }
  if (opts.identity !== undefined) return { site: await rosterSiteFromIdentity(await readJson(opts.identity, 'identity file')) };
  if (forms[1]) {
    if (siteFlags.some((f) => f === undefined)) throw usage('USAGE_ROSTER_ADD', '--site, --steward-thumbprint, --kex-thumbprint and --steward-jwk go together');
    return {
      site: {
        siteId: opts.site!, stewardKeyThumbprint: opts.stewardThumbprint!, keyAgreementKeyThumbprint: opts.kexThumbprint!,
        stewardPublicJwk: parseJwk(opts.stewardJwk!, '--steward-jwk'),
      },
    };
  }
  if (opts.auditor === undefined || opts.auditorJwk === undefined) throw usage('USAGE_ROSTER_ADD', '--auditor and --auditor-jwk go together');
  return { auditor: { auditorId: opts.auditor, publicJwk: parseJwk(opts.auditorJwk, '--auditor-jwk') } };
}

/**
 * The consortium roster (docs/site-pinning.md): the research coordinator starts it and adds each
 * site's `medfed agent identity --json` file; every steward signs it; every site imports it, which
 * pins every listed site.
 */
export function register(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('run a hospital node agent');
  const roster = agent.command('roster').description("the consortium roster: every site's custody pins, signed by every site's steward");

  roster.command('init')
    .description('start an empty roster (research coordinator)')
    .requiredOption('--consortium <name>', 'the consortium name (letters, digits, ".", "_", "-")')
    .requiredOption('--out <file>', 'the roster file to create')
    .option('--roster-version <n>', 'the roster version (a newer roster of the same consortium has a higher one)', '1')
    .action(async (opts: { consortium: string; out: string; rosterVersion: string }) => {
      try {
        const version = Number(opts.rosterVersion);
        if (!/^[0-9]+$/.test(opts.rosterVersion) || !Number.isSafeInteger(version) || version < 1) throw usage('USAGE_ROSTER_VERSION', '--roster-version must be a positive integer');
        const out = resolve(opts.out);
        if (await access(out).then(() => true, () => false)) throw usage('USAGE_ROSTER_EXISTS', `${out} exists already; add sites to it with medfed agent roster add`);
        await writeRoster(out, newRoster(opts.consortium, version));
        process.stdout.write(`created ${out} (${opts.consortium}, version ${version}); add each site with medfed agent roster add ${opts.out} --identity SITE.json\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });

  roster.command('add')
    .description("add a site (its `medfed agent identity --json` file, or its thumbprints and steward JWK) or an auditor; drops the signatures collected so far")
    .argument('<file>', 'the roster file')
    .option('--identity <file>', 'the JSON a site steward printed with medfed agent identity --json')
    .option('--site <id>', 'the site id')
    .option('--steward-thumbprint <thumbprint>', "the site's steward key thumbprint")
    .option('--kex-thumbprint <thumbprint>', "the site's key-agreement key thumbprint")
    .option('--steward-jwk <json>', "the site's steward public JWK")
    .option('--auditor <id>', 'an auditor id')
    .option('--auditor-jwk <json>', "the auditor's public JWK")
    .option('--replace', 'change the keys of a site already on the roster')
    .action(async (file: string, opts: AddOptions) => {
      try {
        const current = await readRoster(file);
        const entry = await entryToAdd(opts);
        const result = 'site' in entry
          ? await addRosterSite(current, entry.site, { replace: opts.replace === true })
          : await addRosterAuditor(current, entry.auditor);
        if (result.outcome !== 'unchanged') await writeRoster(file, result.roster);
        const what = 'site' in entry ? `site ${entry.site.siteId} (fingerprint ${pinFingerprint(entry.site)}: confirm it with its steward)` : `auditor ${entry.auditor.auditorId}`;
        process.stdout.write(`${result.outcome === 'unchanged' ? `${what} is on the roster already` : `${result.outcome} ${what}`}\n`);
        if (result.droppedSignatures > 0) process.stdout.write(`dropped ${result.droppedSignatures} signature(s): every steward signs the final roster\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });

  roster.command('rules')
    .description("set the consortium's rules the coordinator follows (docs/governance.md); drops the signatures collected so far")
    .argument('<file>', 'the roster file')
    .option('--audit-retention-days <n>', 'keep audit entries at least this many days (lengthens, never shortens, the coordinator\'s retention)')
    .option('--clear', 'remove the rules')
    .action(async (file: string, opts: { auditRetentionDays?: string; clear?: boolean }) => {
      try {
        if ((opts.auditRetentionDays === undefined) === (opts.clear !== true)) throw usage('USAGE_ROSTER_RULES', 'give --audit-retention-days N or --clear');
        const days = Number(opts.auditRetentionDays);
        if (opts.auditRetentionDays !== undefined && !/^[0-9]+$/.test(opts.auditRetentionDays)) throw usage('USAGE_ROSTER_RULES', '--audit-retention-days must be a whole number of days');
        const result = await setRosterRules(await readRoster(file), opts.clear ? {} : { auditRetentionDays: days });
        if (result.outcome !== 'unchanged') await writeRoster(file, result.roster);
        process.stdout.write(`${result.outcome === 'unchanged' ? 'the rules are unchanged' : `rules ${opts.clear ? 'removed' : `set: keep audit entries at least ${days} days`}`}\n`);
        if (result.droppedSignatures > 0) process.stdout.write(`dropped ${result.droppedSignatures} signature(s): every steward signs the final roster\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });

  roster.command('show')
    .description('list the roster with each site fingerprint and who has signed it')
    .argument('<file>', 'the roster file')
    .action(async (file: string) => {
      try {
        process.stdout.write(`${await describeRoster(await readRoster(file))}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });

  roster.command('sign')
    .description("add this site's steward signature to the roster (refused unless the roster lists this site with its own keys)")
    .argument('<file>', 'the roster file')
    .option('-c, --config <file>', "the agent's configuration file (for its siteId and stateDir)")
    .option('--state-dir <dir>', "the agent's state directory")
    .action(async (file: string, opts: SiteOptions) => {
      try {
        const site = await siteOf(opts);
        const { identity, keys } = await loadSiteIdentity(site.stateDir, site.siteId);
        const signed = await signRoster(await readRoster(file), { self: identity, privateKey: keys.steward.privateKey });
        await writeRoster(file, signed);
        process.stdout.write(`signed as ${site.siteId}\n${await describeRoster(signed)}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });

  roster.command('import')
    .description('verify that every listed steward signed the roster (this site included), then pin every site on it')
    .argument('<file>', 'the roster file')
    .option('-c, --config <file>', "the agent's configuration file (for its siteId, stateDir and custody.pinnedSites)")
    .option('--state-dir <dir>', "the agent's state directory")
    .action(async (file: string, opts: SiteOptions) => {
      try {
        const site = await siteOf(opts);
        const { identity } = await loadSiteIdentity(site.stateDir, site.siteId);
        const { roster: imported, pins } = await importRoster(file, { stateDir: site.stateDir, pinnedSitesPath: site.pinnedSitesPath, self: identity });
        process.stdout.write(`imported the roster of ${imported.consortium}, version ${imported.version}, signed by all ${imported.sites.length} sites\n`);
        for (const o of pins) process.stdout.write(`  ${describePinOutcome(o)}\n`);
        process.stdout.write(`pins: ${site.pinnedSitesPath}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });
}
