import { InvalidArgumentError, type Command } from 'commander';
import { PERSON_ROLES } from '@medfed/proto/auth/index';
import type { RestClient } from '../federation/rest-client.js';
import { action, connect, connectionOptions, parseSiteId, type ConnectionFlags } from '../coordinator-connection.js';

function parseRole(value: string): string {
  if (!(PERSON_ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${PERSON_ROLES.join(', ')}`);
  return value;
}

function parseDays(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 365) throw new InvalidArgumentError('must be an integer from 1 to 365');
  return Number(value);
}

const client = async (opts: ConnectionFlags): Promise<RestClient> => (await connect(opts)).client;

/** Prints what the action answers, one line; failures exit with the connection module's codes. */
function run<T>(fn: (opts: T) => Promise<string>): (opts: T) => Promise<void> {
  return action(async (opts: T) => { process.stdout.write(`${await fn(opts)}\n`); });
}

/** `medfed admin ...`: people's API keys, enrollment codes, suspension and signing-key rotation, against a running coordinator. */
export function register(program: Command): void {
  const admin = program.command('admin').description('administer identities and access on a running coordinator');

  connectionOptions(admin.command('create-key'))
    .description('issue an API key for a person; prints only the key (shown once, stored hashed)')
    .requiredOption('--role <role>', `one of ${PERSON_ROLES.join(', ')}`, parseRole)
    .requiredOption('--name <name>', 'who or what the key is for (1 to 100 characters)')
    .option('--site <site>', 'the site a site-steward or clinician acts for', parseSiteId)
    .option('--expires-days <days>', 'lifetime in days (default 90, at most 365)', parseDays)
    .action(run(async (opts: ConnectionFlags & { role: string; name: string; site?: string; expiresDays?: number }) => {
      const rest = await client(opts);
      const created = await rest.createApiKey({
        name: opts.name, role: opts.role, ...(opts.site ? { site: opts.site } : {}), ...(opts.expiresDays ? { expiresInDays: opts.expiresDays } : {}),
      });
      return created.apiKey;
    }));

  connectionOptions(admin.command('revoke-key'))
    .description('revoke an API key; every session it opened ends at once')
    .requiredOption('--id <id>', 'the key id (the part after mfk_, before the second _)')
    .action(run(async (opts: ConnectionFlags & { id: string }) => JSON.stringify(await (await client(opts)).revokeApiKey(opts.id))));

  connectionOptions(admin.command('list-keys'))
    .description('list API keys (never their secrets)')
    .action(run(async (opts: ConnectionFlags) => JSON.stringify(await (await client(opts)).listApiKeys())));

  connectionOptions(admin.command('enrollment-code'))
    .description('issue a one-time enrollment code for a site\'s agent (single use, expires within 24 h); prints only the code')
    .requiredOption('--site <site>', 'the site', parseSiteId)
    .action(run(async (opts: ConnectionFlags & { site: string }) => (await (await client(opts)).enrollmentCode(opts.site)).enrollmentCode));

  connectionOptions(admin.command('suspend-site'))
    .description('suspend a site: none of its tokens is honoured from the next request on')
    .requiredOption('--site <site>', 'the site', parseSiteId)
    .action(run(async (opts: ConnectionFlags & { site: string }) => JSON.stringify(await (await client(opts)).setSiteSuspended(opts.site, true))));

  connectionOptions(admin.command('reinstate-site'))
    .description('lift a site\'s suspension')
    .requiredOption('--site <site>', 'the site', parseSiteId)
    .action(run(async (opts: ConnectionFlags & { site: string }) => JSON.stringify(await (await client(opts)).setSiteSuspended(opts.site, false))));

  connectionOptions(admin.command('rotate-signing-key'))
    .description('start signing tokens with a new key; the previous key stays published until its tokens have expired')
    .action(run(async (opts: ConnectionFlags) => JSON.stringify(await (await client(opts)).rotateSigningKey())));
}
