import type { Command } from 'commander';
import { action, connect, parseJobId, withConnection, type Connection } from '../coordinator-connection.js';

/**
 * `medfed keys ceremony --job J`: a new key epoch for an encrypted job's current site list (a
 * rotation): the stewards sign the list again, one site generates and wraps a new key set, and
 * rounds wait until it exists. `medfed keys status --job J`: every epoch of the job. Both talk to
 * the coordinator's REST API with the same connection flags as `medfed runs`.
 */
interface KeysOptions extends Connection {
  job: string;
}

interface EpochView {
  epoch: number; status: string; reason: string; requestedBy: string | null; sites: string[]; signed: string[];
  generatingSite: string; keyId: string | null; joiners: string[]; createdAt: string; readyAt: string | null;
}

function epochLine(e: EpochView): string {
  const progress = e.status === 'signing' ? ` (signed ${e.signed.length}/${e.sites.length})` : e.status === 'generating' ? ` (generating at ${e.generatingSite})` : '';
  const joiners = e.joiners.length > 0 ? `; earlier keys wrapped for ${e.joiners.join(', ')}` : '';
  return `epoch ${e.epoch}  ${e.status}${progress}  ${e.reason}  sites ${e.sites.join(', ')}${e.keyId ? `  key ${e.keyId}` : ''}${joiners}`;
}

function withJob(cmd: Command): Command {
  return withConnection(cmd.requiredOption('--job <id>', 'the encrypted job (run) id', parseJobId));
}

export function register(program: Command): void {
  const keys = program.command('keys').description("an encrypted job's key epochs: start a new one (rotation), show them");

  withJob(keys.command('ceremony').description("start a new key epoch for the job's current site list (admin, researcher); rounds wait until its keys exist"))
    .action(action(async (opts: KeysOptions) => {
      const { client } = await connect(opts);
      const r = await client.call<{ job: string; sites: string[]; epoch: EpochView | null }>('POST', `/v1/jobs/${encodeURIComponent(opts.job)}/key-ceremony`, {});
      if (opts.format === 'json') return void process.stdout.write(`${JSON.stringify(r)}\n`);
      process.stdout.write(r.epoch ? `${r.job}: key ceremony started\n${epochLine(r.epoch)}\n` : `${r.job}: no key epoch (plaintext job)\n`);
    }));

  withJob(keys.command('status').description("every key epoch of the job: site list, ceremony state, key id (no key material)"))
    .action(action(async (opts: KeysOptions) => {
      const { client } = await connect(opts);
      const r = await client.call<{ job: string; encrypted: boolean; epochs: EpochView[] }>('GET', `/v1/jobs/${encodeURIComponent(opts.job)}/keys`);
      if (opts.format === 'json') return void process.stdout.write(`${JSON.stringify(r)}\n`);
      if (!r.encrypted) return void process.stdout.write(`${r.job}: plaintext job, no keys\n`);
      process.stdout.write(`${r.job}\n${r.epochs.map(epochLine).join('\n')}\n`);
    }));
}
