import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeDevCa } from '@medfed/coordinator/keys/index';
import { CliError, reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositiveInt } from '../options.js';

const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'];
const HOST = /^([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$|^[0-9.]+$|^[0-9a-fA-F:]+$/;

/**
 * `medfed dev-ca`: a local certificate authority and a TLS server certificate for development and
 * demos (P-256, ECDSA with SHA-256). Private keys are written with mode 0600. Not for production.
 */
export function register(program: Command): void {
  program.command('dev-ca')
    .description('make a local development CA and a TLS server certificate (never use it in production)')
    .option('--out <dir>', 'where to write ca.pem, ca-key.pem, server.pem, server-key.pem', './medfed-tls')
    .option('--host <name>', 'a DNS name or IP address the server certificate is for (repeatable; default localhost, 127.0.0.1, ::1)',
      (value: string, previous: string[] = []) => [...previous, value])
    .option('--days <days>', 'validity of the server certificate in days (the CA gets a year at least)', parsePositiveInt, 90)
    .option('--force', 'overwrite an existing CA in --out')
    .action(async (opts: { out: string; host?: string[]; days: number; force?: boolean }) => {
      try {
        const hosts = opts.host ?? DEFAULT_HOSTS;
        const bad = hosts.find((h) => !HOST.test(h));
        if (bad) throw new CliError('USAGE_HOST_INVALID', `--host ${bad} is not a DNS name or an IP address`, ExitCode.USAGE);
        if (opts.days > 825) throw new CliError('USAGE_DAYS_INVALID', '--days must be at most 825 (the TLS limit for server certificates)', ExitCode.USAGE);
        const out = resolve(opts.out);
        const exists = await access(join(out, 'ca.pem')).then(() => true, () => false);
        if (exists && !opts.force) throw new CliError('USAGE_CA_EXISTS', `${join(out, 'ca.pem')} exists; pass --force to replace it`, ExitCode.USAGE);
        const files = await writeDevCa(out, hosts, { days: opts.days });
        process.stdout.write(`${JSON.stringify({ event: 'dev-ca', hosts, ...files })}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
