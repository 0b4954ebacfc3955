import type { Command } from 'commander';
import type { SiteView } from '../federation/rest-client.js';
import { action, connect, parseSiteId, withConnection, type Connection } from '../coordinator-connection.js';

/**
 * `medfed sites add|ls|show|suspend|reinstate|revoke` over the coordinator's REST API (POST /v1/sites,
 * GET /v1/sites[/:id], POST /v1/sites/:id/suspend|reinstate|revoke), with the connection flags and
 * exit codes of every coordinator command (coordinator-connection.ts).
 */

const seen = (s: SiteView) => (s.lastSeenAt ? new Date(s.lastSeenAt).toISOString() : 'never seen');

/** The protocol version its agent last announced, and when: what an upgrade across sites is checked with. */
const protocol = (s: SiteView) => (s.protocolVersion
  ? `${s.protocolVersion}${s.versionSeenAt ? ` (announced ${new Date(s.versionSeenAt).toISOString()})` : ''}` : '- (none announced yet)');

function siteLine(s: SiteView): string {
  return `${s.id.padEnd(16)} ${s.status.padEnd(10)} ${seen(s).padEnd(24)} ${(s.agentVersion ?? '-').padEnd(10)} ${(s.protocolVersion ?? '-').padEnd(8)} ${s.displayName}`;
}

function siteBlock(s: SiteView): string {
  return [`${s.id}  ${s.status}`, `  name           ${s.displayName}`, `  last seen      ${seen(s)}`, `  agent version  ${s.agentVersion ?? '- (not enrolled yet)'}`,
    `  protocol       ${protocol(s)}`].join('\n');
}

/** What an operator does after registering a site: its agent enrolls with a one-time code. */
function nextStep(id: string, opts: Connection): string {
  const where = opts.coordinator ? ` --coordinator ${opts.coordinator}` : '';
  return `next: issue a one-time enrollment code for its agent (single use, expires within 24 h):\n`
    + `  medfed admin enrollment-code --site ${id}${where}\n`
    + `and give it to the site's operator for: medfed agent enroll --code CODE (or medfed agent init --code CODE)`;
}

const print = (opts: Connection, json: unknown, text: string) => {
  process.stdout.write(`${opts.format === 'json' ? JSON.stringify(json) : text}\n`);
};

export function register(program: Command): void {
  const sites = program.command('sites').description('register, list, inspect and suspend the hospitals (sites) of a running coordinator');

  withConnection(sites.command('add').description('register a site (admin); prints how its agent enrolls next')
    .argument('<id>', 'the site id (a-z, 0-9 and -, at most 63 characters)', parseSiteId)
    .option('--name <name>', 'a display name (default: the id)'))
    .action(action(async (id: string, opts: Connection & { name?: string }) => {
      const { client } = await connect(opts);
      const site = await client.registerSite(id, opts.name);
      print(opts, site, `registered ${site.id} (${site.displayName}): ${site.status}\n${nextStep(site.id, opts)}`);
    }));

  withConnection(sites.command('ls').description('list sites: id, status, last seen, agent version, protocol version, name (a site-bound role sees its own)'))
    .action(action(async (opts: Connection) => {
      const { client } = await connect(opts);
      const list = await client.sites();
      print(opts, { sites: list }, list.length === 0 ? 'no sites; register one with medfed sites add ID' : list.map(siteLine).join('\n'));
    }));

  withConnection(sites.command('show').description('one site: status, name, last seen, agent version, protocol version').argument('<id>', 'the site id', parseSiteId))
    .action(action(async (id: string, opts: Connection) => {
      const { client } = await connect(opts);
      const site = await client.site(id);
      print(opts, site, siteBlock(site));
    }));

  withConnection(sites.command('suspend').description('suspend a site (admin, or its steward): none of its credentials is honoured from the next request on')
    .argument('<id>', 'the site id', parseSiteId))
    .action(action(async (id: string, opts: Connection) => {
      const { client } = await connect(opts);
      const r = await client.setSiteSuspended(id, true);
      print(opts, r, `${r.id} ${r.status}; lift it with medfed sites reinstate ${r.id}`);
    }));

  withConnection(sites.command('reinstate').description("lift a site's suspension (admin)").argument('<id>', 'the site id', parseSiteId))
    .action(action(async (id: string, opts: Connection) => {
      const { client } = await connect(opts);
      const r = await client.setSiteSuspended(id, false);
      print(opts, r, `${r.id} ${r.status}`);
    }));

  withConnection(sites.command('revoke')
    .description('revoke a site for good (admin): its keys retire, it cannot enrol again or be reinstated, running encrypted jobs drop it')
    .argument('<id>', 'the site id', parseSiteId)
    .requiredOption('--reason <text>', 'why the site is revoked (kept in the audit trail)'))
    .action(action(async (id: string, opts: Connection & { reason: string }) => {
      const { client } = await connect(opts);
      const r = await client.revokeSite(id, opts.reason);
      print(opts, r, r.alreadyRevoked ? `${r.id} was already revoked (${r.revokedAt})` : `${r.id} revoked at ${r.revokedAt}; it cannot enrol again`);
    }));
}
