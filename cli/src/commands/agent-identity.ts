import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { MedfedError } from '@medfed/proto';
import { loadAgentConfig } from '@medfed/node-agent';
import { loadAgentIdentity } from '@medfed/node-agent/identity/index';
import {
  SITE_ID, SiteListApprovals, approveSiteList, listPins, loadPinnedSites, loadSiteIdentity, pinFingerprint, pinSite, pinnedSitesPath, reviewAnnouncedSiteList,
  type PinOutcome, type SiteIdentity, type SiteListReview,
} from '@medfed/node-agent/custody/index';
import { CliError, reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import { stateDirOf } from './agent-approve.js';

/** The site a custody command acts for: its state dir, its id, and where its pins live. */
export interface SiteContext {
  readonly stateDir: string;
  readonly siteId: string;
  readonly pinnedSitesPath: string;
}

export interface SiteOptions {
  readonly config?: string | undefined;
  readonly stateDir?: string | undefined;
}

/** The site id comes from the configuration file, else from the agent's enrollment in the state dir, else MEDFED_SITE_ID. */
export async function siteOf(opts: SiteOptions): Promise<SiteContext> {
  const config = opts.config === undefined ? undefined : await loadAgentConfig({ file: opts.config, env: {} });
  const stateDir = await stateDirOf(opts);
  let siteId = config?.siteId;
  if (siteId === undefined) {
    try {
      siteId = (await loadAgentIdentity(stateDir)).identity.siteId;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'AUTH_IDENTITY_MISSING') throw err;
      siteId = process.env.MEDFED_SITE_ID;
      if (siteId === undefined || siteId === '') {
        throw new CliError('USAGE_SITE_UNKNOWN', `no enrolled agent in ${stateDir} names this site; give -c CONFIG (the agent's configuration, for its siteId) or set MEDFED_SITE_ID`, ExitCode.USAGE);
      }
    }
  }
  if (!SITE_ID.test(siteId)) throw new CliError('USAGE_SITE_UNKNOWN', `site id ${JSON.stringify(siteId)} must be 1-63 lowercase letters, digits or "-"`, ExitCode.USAGE);
  return { stateDir, siteId, pinnedSitesPath: pinnedSitesPath(stateDir, config?.custody.pinnedSites) };
}

/** Exit codes of the custody refusals (docs/site-pinning.md); every other error as reportAndExit maps it. */
const CUSTODY_EXIT: Readonly<Record<string, ExitCode>> = {
  PIN_INVALID: ExitCode.USAGE,
  PIN_CONFLICT: ExitCode.REFUSED,
  PIN_SELF_MISMATCH: ExitCode.REFUSED,
  HE_SITE_UNPINNED: ExitCode.REFUSED,
  ROSTER_SITE_MISSING: ExitCode.REFUSED,
  ROSTER_OUTDATED: ExitCode.REFUSED,
  ROSTER_INVALID: ExitCode.VERIFY_FAILED,
  ROSTER_UNSIGNED: ExitCode.VERIFY_FAILED,
  ROSTER_SIGNATURE_INVALID: ExitCode.VERIFY_FAILED,
  SITE_LIST_APPROVAL_STATE_INVALID: ExitCode.CONFIG,
};

export function reportCustodyAndExit(err: unknown): never {
  const exit = err instanceof MedfedError && !(err instanceof CliError) ? CUSTODY_EXIT[err.code] : undefined;
  reportAndExit(exit === undefined ? err : new CliError((err as MedfedError).code, (err as MedfedError).message, exit));
}

function siteOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', "the agent's configuration file (for its siteId, stateDir and custody.pinnedSites)")
    .option('--state-dir <dir>', "the agent's state directory");
}

function describeIdentity(identity: SiteIdentity): string {
  return [
    `site                ${identity.siteId}`,
    `steward key         ${identity.stewardKeyThumbprint}`,
    `key-agreement key   ${identity.keyAgreementKeyThumbprint}`,
    `fingerprint         ${identity.fingerprint}`,
    '',
    'Read the fingerprint to the other stewards; each pins this site with',
    `  medfed agent pin-site --site ${identity.siteId} --steward-thumbprint ${identity.stewardKeyThumbprint} --kex-thumbprint ${identity.keyAgreementKeyThumbprint}`,
  ].join('\n');
}

export function describePinOutcome(o: PinOutcome): string {
  const changes = o.changes.map((c) => `${c.field} ${c.from} -> ${c.to}`).join('; ');
  switch (o.outcome) {
    case 'added': return `pinned ${o.siteId}`;
    case 'unchanged': return `${o.siteId} was pinned with these keys already`;
    case 'replaced': return `re-pinned ${o.siteId}: ${changes}`;
    case 'removed': return `unpinned ${o.siteId}: the consortium's roster no longer lists it`;
  }
}

function describeReview(review: SiteListReview): string {
  const { announcement, sites } = review;
  const width = Math.max(4, ...sites.map((s) => s.siteId.length));
  return [
    `job ${announcement.jobId}, key epoch ${announcement.epoch}, site list digest ${announcement.digest}`,
    `  ${'SITE'.padEnd(width)}  ${'KEY-AGREEMENT KEY'.padEnd(43)}  ${'STEWARD KEY (PINNED)'.padEnd(43)}  PINNED`,
    ...sites.map((s) => `  ${s.siteId.padEnd(width)}  ${s.keyAgreementKeyThumbprint}  ${(s.stewardKeyThumbprint ?? '-').padEnd(43)}  ${s.pinned ? 'yes' : 'NO'}`),
  ].join('\n');
}

/**
 * Key custody at the site (docs/site-pinning.md):
 * `medfed agent identity`: this site's custody pins and their fingerprint;
 * `medfed agent pin-site` / `medfed agent pins`: pin a peer site, list the pins;
 * `medfed agent approve-site-list --job J`: the steward approves the job's site list against the pins.
 */
export function register(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('run a hospital node agent');

  siteOptions(agent.command('identity')
    .description("print this site's steward and key-agreement key thumbprints and their fingerprint (creates the keys if the agent never ran)"))
    .option('--json', 'print {siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint, fingerprint, stewardPublicJwk, keyAgreementPublicJwk}')
    .action(async (opts: SiteOptions & { json?: boolean }) => {
      try {
        const site = await siteOf(opts);
        const { identity } = await loadSiteIdentity(site.stateDir, site.siteId);
        process.stdout.write(`${opts.json ? JSON.stringify(identity, null, 2) : describeIdentity(identity)}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });

  siteOptions(agent.command('pin-site')
    .description("pin another site's steward and key-agreement key thumbprints, as its steward gave them out of band")
    .requiredOption('--site <id>', 'the site id')
    .requiredOption('--steward-thumbprint <thumbprint>', "RFC 7638 SHA-256 thumbprint of the site's steward key")
    .requiredOption('--kex-thumbprint <thumbprint>', "RFC 7638 SHA-256 thumbprint of the site's key-agreement key")
    .option('--replace', 'replace the pins of a site pinned with other thumbprints'))
    .action(async (opts: SiteOptions & { site: string; stewardThumbprint: string; kexThumbprint: string; replace?: boolean }) => {
      try {
        const site = await siteOf(opts);
        const { identity } = await loadSiteIdentity(site.stateDir, site.siteId);
        const pin = { siteId: opts.site, stewardKeyThumbprint: opts.stewardThumbprint, keyAgreementKeyThumbprint: opts.kexThumbprint };
        const outcome = await pinSite(site.pinnedSitesPath, pin, { self: identity, replace: opts.replace === true });
        process.stdout.write(`${describePinOutcome(outcome)} in ${site.pinnedSitesPath}\nfingerprint ${pinFingerprint(pin)}: it must be the one ${opts.site}'s steward read to you\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });

  siteOptions(agent.command('pins')
    .description('list the sites pinned at this site (its own entry first, from its own keys)'))
    .option('--json', 'print the pins as JSON')
    .action(async (opts: SiteOptions & { json?: boolean }) => {
      try {
        const site = await siteOf(opts);
        const { identity } = await loadSiteIdentity(site.stateDir, site.siteId);
        const pins = (await listPins(site.pinnedSitesPath, identity)).map((p) => ({ ...p, fingerprint: pinFingerprint(p) }));
        if (opts.json) process.stdout.write(`${JSON.stringify({ path: site.pinnedSitesPath, sites: pins }, null, 2)}\n`);
        else {
          const lines = pins.map((p) => `${p.siteId}  steward ${p.stewardKeyThumbprint}  key-agreement ${p.keyAgreementKeyThumbprint}  ${p.fingerprint}  ${p.source ?? ''}${p.consortium ? ` ${p.consortium} v${p.rosterVersion}` : ''}`);
          process.stdout.write(`${site.pinnedSitesPath}\n${lines.join('\n')}\n`);
        }
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });

  siteOptions(agent.command('approve-site-list')
    .description("approve the site list of a job's key ceremony (steward): shows it against the pins and refuses a site not pinned; the agent signs it on its next poll")
    .requiredOption('--job <id>', 'the job id')
    .option('--approver <name>', 'who approves (default: the logged-in user)')
    .option('--json', 'print the reviewed list and the approval as JSON'))
    .action(async (opts: SiteOptions & { job: string; approver?: string; json?: boolean }) => {
      try {
        const site = await siteOf(opts);
        const { identity } = await loadSiteIdentity(site.stateDir, site.siteId);
        const pinned = await loadPinnedSites(site.pinnedSitesPath, { self: identity, optional: true });
        const store = new SiteListApprovals(site.stateDir);
        const review = await reviewAnnouncedSiteList(store, opts.job, pinned);
        if (!opts.json) process.stdout.write(`${describeReview(review)}\n`);
        const approval = await approveSiteList(store, review, pinned, { approver: opts.approver ?? userInfo().username });
        if (opts.json) process.stdout.write(`${JSON.stringify({ event: 'site-list-approved', ...approval, sites: review.sites }, null, 2)}\n`);
        else process.stdout.write(`approved by ${approval.approver}: the agent signs this site list on its next poll\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportCustodyAndExit(err);
      }
    });
}
