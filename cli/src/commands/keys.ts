import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { RestClient } from '../federation/rest-client.js';
import { CliError, reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';

/**
 * `medfed keys ceremony --job J`: a new key epoch for an encrypted job's current site list (a
 * rotation): the stewards sign the list again, one site generates and wraps a new key set, and
 * rounds wait until it exists. `medfed keys status --job J`: every epoch of the job. Both talk to
 * the coordinator's REST API with the same connection flags as `medfed runs`.
 */
interface Connection {
  coordinator?: string;
  keyFile?: string;
  ca?: string;
  job: string;
  format: 'text' | 'json';
}

interface EpochView {
  epoch: number; status: string; reason: string; requestedBy: string | null; sites: string[]; signed: string[];
  generatingSite: string; keyId: string | null; joiners: string[]; createdAt: string; readyAt: string | null;
}

const DEFAULT_COORDINATOR = 'http://127.0.0.1:8080';

function parseFormat(value: string): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw new InvalidArgumentError('must be text or json');
  return value;
}

function parseJobId(value: string): string {
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

async function connect(opts: Connection): Promise<RestClient> {
  const base = (opts.coordinator ?? process.env.MEDFED_COORDINATOR_URL ?? DEFAULT_COORDINATOR).replace(/\/$/, '');
  if (!/^https?:\/\/[^/]+/.test(base)) throw new CliError('USAGE_COORDINATOR_URL', `--coordinator ${base} is not an http(s) URL such as https://coordinator.example:8443`, ExitCode.USAGE);
  const ca = opts.ca ? await readFile(opts.ca).catch((err: NodeJS.ErrnoException) => {
    throw new CliError('CONFIG_CA_UNREADABLE', `cannot read --ca ${opts.ca} (${err.code ?? err.message})`, ExitCode.CONFIG);
  }) : undefined;
  return new RestClient(base, { apiKey: await apiKey(opts) }, { ca });
}

function epochLine(e: EpochView): string {
  const progress = e.status === 'signing' ? ` (signed ${e.signed.length}/${e.sites.length})` : e.status === 'generating' ? ` (generating at ${e.generatingSite})` : '';
  const joiners = e.joiners.length > 0 ? `; earlier keys wrapped for ${e.joiners.join(', ')}` : '';
  return `epoch ${e.epoch}  ${e.status}${progress}  ${e.reason}  sites ${e.sites.join(', ')}${e.keyId ? `  key ${e.keyId}` : ''}${joiners}`;
}

function withConnection(cmd: Command): Command {
  return cmd
    .requiredOption('--job <id>', 'the encrypted job (run) id', parseJobId)
    .option('--coordinator <url>', `the coordinator's REST URL (default MEDFED_COORDINATOR_URL or ${DEFAULT_COORDINATOR})`)
    .option('--key-file <file>', 'file holding an API key (default: MEDFED_API_KEY, MEDFED_API_KEY_FILE, or <MEDFED_DATA_DIR|./medfed-data>/admin-api-key)')
    .option('--ca <file>', 'CA certificate (PEM) that signs the coordinator\'s TLS certificate')
    .option('--format <format>', 'text or json', parseFormat, 'text');
}

function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
      process.exit(ExitCode.OK);
    } catch (err) {
      reportAndExit(err);
    }
  };
}

export function register(program: Command): void {
  const keys = program.command('keys').description("an encrypted job's key epochs: start a new one (rotation), show them");

  withConnection(keys.command('ceremony').description("start a new key epoch for the job's current site list (admin, researcher); rounds wait until its keys exist"))
    .action(action(async (opts: Connection) => {
      const client = await connect(opts);
      const r = await client.call<{ job: string; sites: string[]; epoch: EpochView | null }>('POST', `/v1/jobs/${encodeURIComponent(opts.job)}/key-ceremony`, {});
      if (opts.format === 'json') return void process.stdout.write(`${JSON.stringify(r)}\n`);
      process.stdout.write(r.epoch ? `${r.job}: key ceremony started\n${epochLine(r.epoch)}\n` : `${r.job}: no key epoch (plaintext job)\n`);
    }));

  withConnection(keys.command('status').description("every key epoch of the job: site list, ceremony state, key id (no key material)"))
    .action(action(async (opts: Connection) => {
      const client = await connect(opts);
      const r = await client.call<{ job: string; encrypted: boolean; epochs: EpochView[] }>('GET', `/v1/jobs/${encodeURIComponent(opts.job)}/keys`);
      if (opts.format === 'json') return void process.stdout.write(`${JSON.stringify(r)}\n`);
      if (!r.encrypted) return void process.stdout.write(`${r.job}: plaintext job, no keys\n`);
      process.stdout.write(`${r.job}\n${r.epochs.map(epochLine).join('\n')}\n`);
    }));
}
