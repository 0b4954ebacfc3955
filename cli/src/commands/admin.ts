import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { PERSON_ROLES } from '@medfed/proto/auth/index';
import { RestClient } from '../federation/rest-client.js';
import { CliError, reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';

interface ConnectionOptions {
  coordinator?: string;
  keyFile?: string;
  ca?: string;
}

const DEFAULT_COORDINATOR = 'http://127.0.0.1:8080';

function parseRole(value: string): string {
  if (!(PERSON_ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${PERSON_ROLES.join(', ')}`);
  return value;
}

function parseSite(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) throw new InvalidArgumentError('must be a site id (a-z, 0-9 and -, at most 63 characters)');
  return value;
}

function parseDays(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 365) throw new InvalidArgumentError('must be an integer from 1 to 365');
  return Number(value);
}

/**
 * The admin credential: MEDFED_API_KEY, or the key file (the bootstrap admin key that the coordinator's
 * first start wrote to <dataDir>/admin-api-key, mode 0600). A file readable by others is refused.
 */
async function adminKey(opts: ConnectionOptions): Promise<string> {
  if (process.env.MEDFED_API_KEY) return process.env.MEDFED_API_KEY.trim();
  const file = opts.keyFile ?? process.env.MEDFED_API_KEY_FILE ?? join(process.env.MEDFED_DATA_DIR ?? './medfed-data', 'admin-api-key');
  try {
    const s = await stat(file);
    if ((s.mode & 0o077) !== 0) {
      throw new CliError('AUTH_KEY_FILE_EXPOSED', `${file} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 on it`, ExitCode.AUTH);
    }
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError('AUTH_KEY_FILE_UNREADABLE', `cannot read the admin key file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give --key-file or MEDFED_API_KEY`, ExitCode.AUTH);
  }
}

async function client(opts: ConnectionOptions): Promise<RestClient> {
  const base = opts.coordinator ?? process.env.MEDFED_COORDINATOR_URL ?? DEFAULT_COORDINATOR;
  if (!/^https?:\/\/[^/]+/.test(base)) throw new CliError('USAGE_COORDINATOR_URL', `--coordinator ${base} is not an http(s) URL such as https://coordinator.example:8443`, ExitCode.USAGE);
  let ca: Buffer | undefined;
  if (opts.ca) {
    ca = await readFile(opts.ca).catch((err: NodeJS.ErrnoException) => {
      throw new CliError('CONFIG_CA_UNREADABLE', `cannot read --ca ${opts.ca} (${err.code ?? err.message})`, ExitCode.CONFIG);
    });
  }
  return new RestClient(base, { apiKey: await adminKey(opts) }, { ca });
}

function withConnection(cmd: Command): Command {
  return cmd
    .option('--coordinator <url>', `the coordinator's REST URL (default MEDFED_COORDINATOR_URL or ${DEFAULT_COORDINATOR})`)
    .option('--key-file <file>', 'file holding an admin API key (default: MEDFED_API_KEY, MEDFED_API_KEY_FILE, or <MEDFED_DATA_DIR|./medfed-data>/admin-api-key)')
    .option('--ca <file>', 'CA certificate (PEM) that signs the coordinator\'s TLS certificate');
}

function run<T>(fn: (opts: T) => Promise<string>): (opts: T) => Promise<void> {
  return async (opts) => {
    try {
      process.stdout.write(`${await fn(opts)}\n`);
      process.exit(ExitCode.OK);
    } catch (err) {
      reportAndExit(err);
    }
  };
}

/** `medfed admin ...`: people's API keys, enrollment codes, suspension and signing-key rotation, against a running coordinator. */
export function register(program: Command): void {
  const admin = program.command('admin').description('administer identities and access on a running coordinator');

  withConnection(admin.command('create-key'))
    .description('issue an API key for a person; prints only the key (shown once, stored hashed)')
    .requiredOption('--role <role>', `one of ${PERSON_ROLES.join(', ')}`, parseRole)
    .requiredOption('--name <name>', 'who or what the key is for (1 to 100 characters)')
    .option('--site <site>', 'the site a site-steward or clinician acts for', parseSite)
    .option('--expires-days <days>', 'lifetime in days (default 90, at most 365)', parseDays)
    .action(run(async (opts: ConnectionOptions & { role: string; name: string; site?: string; expiresDays?: number }) => {
      const rest = await client(opts);
      const created = await rest.createApiKey({
        name: opts.name, role: opts.role, ...(opts.site ? { site: opts.site } : {}), ...(opts.expiresDays ? { expiresInDays: opts.expiresDays } : {}),
      });
      return created.apiKey;
    }));

  withConnection(admin.command('revoke-key'))
    .description('revoke an API key; every session it opened ends at once')
    .requiredOption('--id <id>', 'the key id (the part after mfk_, before the second _)')
    .action(run(async (opts: ConnectionOptions & { id: string }) => JSON.stringify(await (await client(opts)).revokeApiKey(opts.id))));

  withConnection(admin.command('list-keys'))
    .description('list API keys (never their secrets)')
    .action(run(async (opts: ConnectionOptions) => JSON.stringify(await (await client(opts)).listApiKeys())));

  withConnection(admin.command('enrollment-code'))
    .description('issue a one-time enrollment code for a site\'s agent (single use, expires within 24 h); prints only the code')
    .requiredOption('--site <site>', 'the site', parseSite)
    .action(run(async (opts: ConnectionOptions & { site: string }) => (await (await client(opts)).enrollmentCode(opts.site)).enrollmentCode));

  withConnection(admin.command('suspend-site'))
    .description('suspend a site: none of its tokens is honoured from the next request on')
    .requiredOption('--site <site>', 'the site', parseSite)
    .action(run(async (opts: ConnectionOptions & { site: string }) => JSON.stringify(await (await client(opts)).setSiteSuspended(opts.site, true))));

  withConnection(admin.command('reinstate-site'))
    .description('lift a site\'s suspension')
    .requiredOption('--site <site>', 'the site', parseSite)
    .action(run(async (opts: ConnectionOptions & { site: string }) => JSON.stringify(await (await client(opts)).setSiteSuspended(opts.site, false))));

  withConnection(admin.command('rotate-signing-key'))
    .description('start signing tokens with a new key; the previous key stays published until its tokens have expired')
    .action(run(async (opts: ConnectionOptions) => JSON.stringify(await (await client(opts)).rotateSigningKey())));
}
