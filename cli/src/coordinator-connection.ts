import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { RestClient, type RestCredential } from './federation/rest-client.js';
import { CliError, reportAndExit } from './fail.js';
import { ExitCode } from './exit-codes.js';

/**
 * How every command that talks to a running coordinator's REST API (`medfed runs`, `keys`, `admin`,
 * `sites`, `jobs`, `stats`, `model export`, `model release`, `audit export|purge`) finds it,
 * authenticates and trusts its certificate: the same flags and environment variables, resolved here
 * and nowhere else. The first that is set wins (flag > environment > default):
 *
 * | setting     | flag                             | environment                                                  | default                                                |
 * |-------------|----------------------------------|--------------------------------------------------------------|--------------------------------------------------------|
 * | coordinator | --coordinator URL                | MEDFED_COORDINATOR_URL (or MEDFED_COORDINATOR, older scripts) | http://127.0.0.1:8080                                  |
 * | credential  | --token TOKEN or --key-file FILE | MEDFED_TOKEN, then MEDFED_API_KEY, then MEDFED_API_KEY_FILE  | the key file <MEDFED_DATA_DIR|./medfed-data>/admin-api-key |
 * | CA (https)  | --ca FILE                        | MEDFED_CA_FILE                                               | the system's roots (and NODE_EXTRA_CA_CERTS)           |
 *
 * A key file must be readable by its owner only (mode 0600, like the bootstrap admin key). The exit
 * codes are CONNECTION_ERRORS and REFUSAL_EXITS below, for this module and the RestClient built from
 * it (federation/rest-client.ts); docs/errors.md renders them.
 */

/** The connection flags (all optional: the environment and defaults fill in). */
export interface ConnectionFlags {
  coordinator?: string | undefined;
  keyFile?: string | undefined;
  token?: string | undefined;
  ca?: string | undefined;
}

export interface Connection extends ConnectionFlags {
  format: 'text' | 'json';
}

/** The environment the settings are read from (process.env, or a test's own). */
export type Env = Readonly<Record<string, string | undefined>>;

export interface ResolvedConnection {
  /** The coordinator's base URL, without a trailing slash. */
  readonly base: string;
  readonly credential: RestCredential;
  readonly ca: Buffer | undefined;
}

export const DEFAULT_COORDINATOR = 'http://127.0.0.1:8080';

/** The codes a connection fails with and their exit codes: the one table every coordinator command shares. */
export const CONNECTION_ERRORS = [
  { code: 'USAGE_COORDINATOR_URL', exit: 'USAGE', when: 'the coordinator URL (--coordinator, MEDFED_COORDINATOR_URL) is not an http(s) URL' },
  { code: 'USAGE_CREDENTIAL_CONFLICT', exit: 'USAGE', when: 'both --token and --key-file were given' },
  { code: 'CONFIG_CA_UNREADABLE', exit: 'CONFIG', when: 'the CA file (--ca, MEDFED_CA_FILE) cannot be read' },
  { code: 'COORDINATOR_UNAVAILABLE', exit: 'UNREACHABLE', when: 'no answer; the message names the URL and the cause: ECONNREFUSED, a TLS certificate not trusted (pass --ca), a certificate for another host name, a timeout, http:// to a TLS port' },
  { code: 'AUTH_KEY_FILE_UNREADABLE', exit: 'AUTH', when: 'no credential: the API key file (--key-file, MEDFED_API_KEY_FILE, or the default <MEDFED_DATA_DIR|./medfed-data>/admin-api-key) is missing, unreadable or empty' },
  { code: 'AUTH_KEY_FILE_EXPOSED', exit: 'AUTH', when: 'the API key file is readable by group or others (chmod 600 it)' },
  { code: 'AUTH_TOKEN_MISSING', exit: 'AUTH', when: '--token is empty' },
  { code: 'SITE_REVOKE_UNSUPPORTED', exit: 'FAILURE', when: 'medfed sites revoke: the coordinator has no revoke route (medfed sites suspend instead)' },
] as const satisfies ReadonlyArray<{ code: string; exit: keyof typeof ExitCode; when: string }>;

/** A refusal by the coordinator keeps its code; its HTTP status picks the exit code. */
export const REFUSAL_EXITS = 'a refusal by the coordinator keeps its code (`{code, message}`): HTTP 401 and 403 exit 6 (AUTH), any other 1 (FAILURE); '
  + '`medfed audit` and `medfed governance` exit 8 (REFUSED) on 403 and 409, `medfed jobs create` 2 (USAGE) on a specification the coordinator refuses';

type ConnectionErrorCode = (typeof CONNECTION_ERRORS)[number]['code'];

/** A connection error with the exit code the table gives its code. */
function failure(code: ConnectionErrorCode, message: string): CliError {
  return new CliError(code, message, ExitCode[CONNECTION_ERRORS.find((e) => e.code === code)!.exit]);
}

const CREDENTIAL_HINT = 'give --key-file FILE or --token TOKEN, or set MEDFED_API_KEY, MEDFED_API_KEY_FILE or MEDFED_TOKEN';

export function parseFormat(value: string): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw new InvalidArgumentError('must be text or json');
  return value;
}

export function parseJobId(value: string): string {
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(value)) throw new InvalidArgumentError('must be a job id as `medfed jobs ls` prints it');
  return value;
}

export function parseSiteId(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) throw new InvalidArgumentError('must be a site id (a-z, 0-9 and -, at most 63 characters)');
  return value;
}

/** An environment variable's value, with an empty one read as unset. */
function fromEnv(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/**
 * The coordinator's base URL: --coordinator, MEDFED_COORDINATOR_URL (or MEDFED_COORDINATOR), else the
 * default; with `fallback: false`, undefined instead of the default (for a command with other sources).
 */
export function coordinatorUrl(flags: ConnectionFlags, env: Env, options: { fallback?: boolean } = {}): string | undefined {
  const [value, source] = flags.coordinator !== undefined ? [flags.coordinator, '--coordinator']
    : fromEnv(env, 'MEDFED_COORDINATOR_URL') ? [fromEnv(env, 'MEDFED_COORDINATOR_URL')!, 'MEDFED_COORDINATOR_URL']
      : fromEnv(env, 'MEDFED_COORDINATOR') ? [fromEnv(env, 'MEDFED_COORDINATOR')!, 'MEDFED_COORDINATOR']
        : options.fallback === false ? [undefined, ''] : [DEFAULT_COORDINATOR, 'the default'];
  if (value === undefined) return undefined;
  const base = value.trim().replace(/\/+$/, '');
  let ok = false;
  try {
    const url = new URL(base);
    ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch { /* not a URL at all */ }
  if (!ok) throw failure('USAGE_COORDINATOR_URL', `${source} ${value} is not an http(s) URL such as https://coordinator.example:8443`);
  return base;
}

/** Reads an API key file: it must exist, hold a key, and be readable by its owner only. */
async function readKeyFile(file: string, source: string): Promise<string> {
  const unreadable = (why: string) => failure('AUTH_KEY_FILE_UNREADABLE', `cannot read the API key file ${file} (${source}): ${why}; ${CREDENTIAL_HINT}`);
  const s = await stat(file).catch((err: NodeJS.ErrnoException) => { throw unreadable(err.code ?? err.message); });
  if (!s.isFile()) throw unreadable('not a file');
  if ((s.mode & 0o077) !== 0) {
    throw failure('AUTH_KEY_FILE_EXPOSED', `the API key file ${file} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 on it`);
  }
  const key = (await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => { throw unreadable(err.code ?? err.message); })).trim();
  if (!key) throw unreadable('it is empty');
  return key;
}

/** The credential, by the precedence above: a flag, then the environment, then the bootstrap admin key file. */
export async function resolveCredential(flags: ConnectionFlags, env: Env): Promise<RestCredential> {
  if (flags.token !== undefined && flags.keyFile !== undefined) {
    throw failure('USAGE_CREDENTIAL_CONFLICT', 'give either --token or --key-file, not both');
  }
  if (flags.token !== undefined) {
    if (!flags.token.trim()) throw failure('AUTH_TOKEN_MISSING', `--token is empty; ${CREDENTIAL_HINT}`);
    return { token: flags.token.trim() };
  }
  if (flags.keyFile !== undefined) return { apiKey: await readKeyFile(flags.keyFile, '--key-file') };
  const token = fromEnv(env, 'MEDFED_TOKEN');
  if (token) return { token };
  const key = fromEnv(env, 'MEDFED_API_KEY');
  if (key) return { apiKey: key };
  const file = fromEnv(env, 'MEDFED_API_KEY_FILE');
  if (file) return { apiKey: await readKeyFile(file, 'MEDFED_API_KEY_FILE') };
  return { apiKey: await readKeyFile(join(fromEnv(env, 'MEDFED_DATA_DIR') ?? './medfed-data', 'admin-api-key'), 'the default key file: no credential was given') };
}

/** The CA certificate(s) to trust for an https coordinator: --ca, else MEDFED_CA_FILE, else none (the system's roots). */
export async function resolveCa(flags: ConnectionFlags, env: Env): Promise<Buffer | undefined> {
  const [file, source] = flags.ca !== undefined ? [flags.ca, '--ca'] : [fromEnv(env, 'MEDFED_CA_FILE'), 'MEDFED_CA_FILE'];
  if (file === undefined) return undefined;
  return readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw failure('CONFIG_CA_UNREADABLE', `cannot read the CA certificate ${file} (${source}): ${err.code ?? err.message}`);
  });
}

/** URL, CA and credential, in that order (a usage error before any file is read). */
export async function resolveConnection(flags: ConnectionFlags, env: Env = process.env): Promise<ResolvedConnection> {
  const base = coordinatorUrl(flags, env)!;
  const ca = await resolveCa(flags, env);
  return { base, ca, credential: await resolveCredential(flags, env) };
}

/** A REST client for the coordinator the flags (or environment) name, with the base URL and CA it uses. */
export async function connect(flags: ConnectionFlags, env: Env = process.env): Promise<{ client: RestClient; base: string; ca: Buffer | undefined }> {
  const c = await resolveConnection(flags, env);
  return { client: new RestClient(c.base, c.credential, { ca: c.ca }), base: c.base, ca: c.ca };
}

/** Adds --coordinator, --key-file, --token and --ca to a command. */
export function connectionOptions(cmd: Command): Command {
  return cmd
    .option('--coordinator <url>', `the coordinator's REST URL (default: MEDFED_COORDINATOR_URL, or ${DEFAULT_COORDINATOR})`)
    .option('--key-file <file>', 'file (mode 0600) holding an API key (default: MEDFED_API_KEY, MEDFED_API_KEY_FILE, or <MEDFED_DATA_DIR|./medfed-data>/admin-api-key)')
    .option('--token <token>', 'a bearer token instead of an API key (default: MEDFED_TOKEN)')
    .option('--ca <file>', "PEM CA certificate that signs an https coordinator's certificate (default: MEDFED_CA_FILE)");
}

/** Adds the connection flags and --format to a command. */
export function withConnection(cmd: Command): Command {
  return connectionOptions(cmd).option('--format <format>', 'text or json', parseFormat, 'text');
}

/** A command action that exits 0 on success and reports any failure with its exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
      process.exit(ExitCode.OK);
    } catch (err) {
      reportAndExit(err);
    }
  };
}
