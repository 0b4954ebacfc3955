import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { RestClient } from './federation/rest-client.js';
import { CliError, reportAndExit } from './fail.js';
import { ExitCode } from './exit-codes.js';

/**
 * How the commands that talk to a running coordinator's REST API (`medfed runs`, `medfed keys`)
 * find it and authenticate: the same flags, environment variables and key-file rules for all.
 */
export interface Connection {
  coordinator?: string;
  keyFile?: string;
  ca?: string;
  format: 'text' | 'json';
}

export const DEFAULT_COORDINATOR = 'http://127.0.0.1:8080';

export function parseFormat(value: string): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw new InvalidArgumentError('must be text or json');
  return value;
}

export function parseJobId(value: string): string {
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(value)) throw new InvalidArgumentError('must be a job id as `medfed runs ls` prints it');
  return value;
}

/** MEDFED_API_KEY, or a key file (MEDFED_API_KEY_FILE, or the bootstrap admin key); a file readable by others is refused. */
async function apiKey(opts: Connection): Promise<string> {
  if (process.env.MEDFED_API_KEY) return process.env.MEDFED_API_KEY.trim();
  const file = opts.keyFile ?? process.env.MEDFED_API_KEY_FILE ?? join(process.env.MEDFED_DATA_DIR ?? './medfed-data', 'admin-api-key');
  const s = await stat(file).catch(() => null);
  if (!s) throw new CliError('AUTH_KEY_FILE_UNREADABLE', `cannot read the API key file ${file}; give --key-file or MEDFED_API_KEY`, ExitCode.AUTH);
  if ((s.mode & 0o077) !== 0) {
    throw new CliError('AUTH_KEY_FILE_EXPOSED', `${file} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 on it`, ExitCode.AUTH);
  }
  return (await readFile(file, 'utf8')).trim();
}

/** A REST client for the coordinator the flags name, with the base URL and CA it uses. */
export async function connect(opts: Connection): Promise<{ client: RestClient; base: string; ca: Buffer | undefined }> {
  const base = (opts.coordinator ?? process.env.MEDFED_COORDINATOR_URL ?? DEFAULT_COORDINATOR).replace(/\/$/, '');
  if (!/^https?:\/\/[^/]+/.test(base)) throw new CliError('USAGE_COORDINATOR_URL', `--coordinator ${base} is not an http(s) URL such as https://coordinator.example:8443`, ExitCode.USAGE);
  const ca = opts.ca ? await readFile(opts.ca).catch((err: NodeJS.ErrnoException) => {
    throw new CliError('CONFIG_CA_UNREADABLE', `cannot read --ca ${opts.ca} (${err.code ?? err.message})`, ExitCode.CONFIG);
  }) : undefined;
  return { client: new RestClient(base, { apiKey: await apiKey(opts) }, { ca }), base, ca };
}

/** Adds --coordinator, --key-file, --ca and --format to a command. */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('--coordinator <url>', `the coordinator's REST URL (default MEDFED_COORDINATOR_URL or ${DEFAULT_COORDINATOR})`)
    .option('--key-file <file>', 'file holding an API key (default: MEDFED_API_KEY, MEDFED_API_KEY_FILE, or <MEDFED_DATA_DIR|./medfed-data>/admin-api-key)')
    .option('--ca <file>', 'CA certificate (PEM) that signs the coordinator\'s TLS certificate')
    .option('--format <format>', 'text or json', parseFormat, 'text');
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
