import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_UPDATE_PARAM_SET, MIN_ENCRYPTED_SITES } from '@medfed/proto';
import { CliError } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import { CoordinatorRefusal, type JobViewBody } from '../federation/rest-client.js';
import { action, connect, parseJobId, parseSiteId, withConnection, type Connection } from '../coordinator-connection.js';
import { bar, jobLine } from './runs.js';

/**
 * `medfed jobs template|create|ls|show`: write a job specification, submit it (POST /v1/jobs), list
 * jobs and show one with its rounds and what the current round waits for (GET /v1/jobs/:id).
 * Connection flags and exit codes as for every coordinator command (coordinator-connection.ts); a
 * specification the coordinator refuses exits 2 (USAGE), an unreadable one 4 (DATA).
 */

const PLACEHOLDER_SITES = ['site-a', 'site-b', 'site-c'];

export interface JobTemplateOptions {
  readonly sites?: readonly string[] | undefined;
  readonly name?: string | undefined;
  /** Encryption off even with enough sites (development only: production refuses plaintext jobs). */
  readonly plaintext?: boolean | undefined;
}

export function parseSiteList(value: string): string[] {
  const sites = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (sites.length === 0) throw new InvalidArgumentError('must list at least one site id, comma-separated');
  for (const s of sites) parseSiteId(s);
  const dup = sites.find((s, i) => sites.indexOf(s) !== i);
  if (dup) throw new InvalidArgumentError(`lists ${dup} twice`);
  return sites;
}

const list = (items: readonly string[], quote = false) => items.map((x) => `  - ${quote ? JSON.stringify(x) : x}`).join('\n');

/**
 * A commented YAML job specification that the coordinator accepts as printed: encryption is on when
 * at least MIN_ENCRYPTED_SITES sites train, and minSites then equals the number of sites, since the
 * schema's default of 1 is refused for an encrypted job.
 */
export function jobSpecTemplate(options: JobTemplateOptions = {}): string {
  const sites = options.sites && options.sites.length > 0 ? [...options.sites] : PLACEHOLDER_SITES;
  const n = sites.length;
  const encrypted = !options.plaintext && n >= MIN_ENCRYPTED_SITES;
  const minSitesWhy = encrypted
    ? [
      `# Encryption is on, and the coordinator refuses an encrypted job whose minSites is below ${MIN_ENCRYPTED_SITES}`,
      `# (MIN_ENCRYPTED_SITES: a decrypted sum of fewer updates would say too much about each one), so`,
      '# its default of 1 cannot stand. It is set to the number of sites listed: every round waits for',
      `# every site. Lower it (never below ${MIN_ENCRYPTED_SITES}) to let a round close without a late site.`,
    ]
    : [
      `# Encryption is off, so any value from 1 to the ${n} site(s) listed is accepted; it is set to all of`,
      '# them: every round waits for every site.',
    ];
  const encryptionWhy = encrypted
    ? [
      '# Each site clips its update to clipNorm and encrypts it under a key only the sites hold: the',
      '# coordinator sums ciphertexts and never sees one site\'s update. Every listed site must have',
      '# enrolled its agent (medfed agent enroll) before the job is created: its key-agreement key takes',
      '# part in the key ceremony. fedavgm cannot run on encrypted sums.',
    ]
    : [
      options.plaintext
        ? '# Encryption is off (--plaintext): the coordinator sees every site\'s update.'
        : `# Encryption is off: it needs at least ${MIN_ENCRYPTED_SITES} training sites and ${n} listed. The coordinator sees`,
      ...(options.plaintext ? [] : ['# every site\'s update.']),
      '# A production coordinator refuses plaintext jobs: list at least 3 sites and set enabled: true.',
    ];
  return [
    `# medfed job specification (medfed jobs template${options.sites ? ` --sites ${sites.join(',')}` : ''}).`,
    '# Submit it with: medfed jobs create --spec FILE',
    '# The coordinator checks every field (POST /v1/jobs); as printed, the values are consistent with',
    '# each other and accepted once the sites are registered (medfed sites add) and enrolled.',
    '',
    '# A name people recognise in medfed jobs ls and the audit trail.',
    `name: ${JSON.stringify(options.name ?? 'my-study')}`,
    '',
    '# The numeric feature columns, in the order the model reads them, the label column and every class',
    '# it takes (compared as strings). Every site\'s data must have them: replace these placeholders.',
    'features:',
    list(['age', 'heart_rate', 'lactate']),
    'label: outcome',
    'classes:',
    list(['no', 'yes'], true),
    '',
    '# A dense network with these hidden layer widths ([] is multinomial logistic regression).',
    'model:',
    '  hidden: [32]',
    '  activation: relu        # relu or tanh',
    '',
    '# Local training at each site, per round.',
    'training:',
    '  localEpochs: 2',
    '  batchSize: 32',
    '  learningRate: 0.01',
    '  optimizer: adam         # adam or sgd',
    '  seed: 42',
    '',
    '# Training rounds, and how long a round waits for the sites\' updates.',
    'rounds: 5',
    'roundDeadlineSeconds: 600',
    '',
    `# How updates are combined: fedavg or fedprox (with mu)${encrypted ? '' : ', or fedavgm (with serverLearningRate and momentum)'}.`,
    'strategy:',
    '  name: fedavg',
    '',
    `# The sites that train: registered site ids (medfed sites ls)${options.sites ? '' : '; replace these placeholders'}.`,
    'sites:',
    list(sites),
    '# Sites that only evaluate (they hold a test split), never train:',
    '# evaluators: [site-d]',
    '',
    '# How many sites\' updates a round needs before it closes.',
    ...minSitesWhy,
    `minSites: ${n}`,
    '',
    '# Per-feature mean and variance from the sites\' summed statistics before round 1 (federated or none).',
    'standardization: federated',
    '',
    ...encryptionWhy,
    'encryption:',
    `  enabled: ${encrypted}`,
    `  paramSet: ${DEFAULT_UPDATE_PARAM_SET}`,
    '  clipNorm: 5',
    '  fracBits: 0             # 0: the most precision the encoding allows for this many sites',
    '',
    '# A production coordinator also requires the admitted trainer builds (SHA-256 digests):',
    '# trainerAllowlist: [<digest>]',
    '',
  ].join('\n');
}

/** The job specification in a YAML or JSON file (JSON is YAML), as an object. */
export async function readJobSpec(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError('DATA_UNREADABLE', `cannot read the job specification ${file} (${err.code ?? err.message})`, ExitCode.DATA);
  });
  let spec: unknown;
  try {
    spec = parseYaml(text);
  } catch (err) {
    throw new CliError('JOB_SPEC_INVALID', `${file} is neither YAML nor JSON: ${(err as Error).message}`, ExitCode.USAGE);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new CliError('JOB_SPEC_INVALID', `${file} must hold one job specification (a mapping of name, features, label, ...); medfed jobs template prints one`, ExitCode.USAGE);
  }
  return spec as Record<string, unknown>;
}

function jobText(j: JobViewBody): string {
  const lines = [`${j.name} (${j.id})  ${j.status}${j.encrypted ? '  encrypted' : ''}  rounds ${bar(j.roundsDone, j.totalRounds)}  current round ${j.currentRound}${j.owner ? `  owner ${j.owner}` : ''}`];
  if (j.failure) lines.push(`failure: ${j.failure}`);
  if (j.waitingSummary) lines.push(`waiting: ${j.waitingSummary}`);
  for (const r of j.rounds) {
    const who = r.contributions.map((c) => c.site).join(', ');
    lines.push(`  round ${r.round} (${r.kind}) ${r.status}: ${r.contributions.length} contribution(s)${who ? ` from ${who}` : ''}${r.failure ? `; ${r.failure}` : ''}`);
  }
  for (const s of j.sites) {
    const latest = s.latest ? `  loss ${s.latest.loss.toFixed(4)}  accuracy ${s.latest.accuracy.toFixed(3)}` : '';
    const failed = s.failures.map((f) => `\n    failed round ${f.round}${f.detail ? `: ${f.detail}` : ''}`).join('');
    const seen = s.lastSeenAt ? `last seen ${new Date(s.lastSeenAt).toISOString()}` : 'never seen';
    lines.push(`  ${s.id.padEnd(16)} ${s.role.padEnd(9)} ${seen}  samples ${s.samples ?? '-'}${latest}${failed}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const jobs = program.command('jobs').description('write, submit, list and inspect federated jobs on a running coordinator');

  jobs.command('template')
    .description('print a commented YAML job specification that the coordinator accepts as printed (save it, edit it, then medfed jobs create --spec FILE)')
    .option('--sites <ids>', 'the training sites, comma-separated (default: placeholders site-a,site-b,site-c)', parseSiteList)
    .option('--name <name>', 'the job name', 'my-study')
    .option('--plaintext', 'encryption off (development only: a production coordinator refuses plaintext jobs)')
    .action((opts: JobTemplateOptions) => { process.stdout.write(jobSpecTemplate(opts)); });

  withConnection(jobs.command('create').description('submit a job specification (YAML or JSON, admin or researcher); prints the job id')
    .requiredOption('--spec <file>', 'the job specification (medfed jobs template prints one)'))
    .action(action(async (opts: Connection & { spec: string }) => {
      const spec = await readJobSpec(opts.spec);
      const { client } = await connect(opts);
      const created = await client.submitJob(spec).catch((err: unknown) => {
        // The coordinator's schema and consistency checks: the file, not the connection, is wrong.
        if (err instanceof CoordinatorRefusal && (err.code === 'VALIDATION_FAILED' || err.code === 'JOB_SPEC_INVALID')) {
          throw new CliError(err.code, `the coordinator refused ${opts.spec}: ${err.message}`, ExitCode.USAGE);
        }
        throw err;
      });
      process.stdout.write(`${opts.format === 'json' ? JSON.stringify(created) : created.id}\n`);
    }));

  withConnection(jobs.command('ls').description('list jobs: id, name, status, rounds done/total, created, owner'))
    .action(action(async (opts: Connection) => {
      const { client } = await connect(opts);
      const all = await client.jobs();
      if (opts.format === 'json') return void process.stdout.write(`${JSON.stringify({ jobs: all })}\n`);
      process.stdout.write(all.length === 0 ? 'no jobs\n' : `${all.map(jobLine).join('\n')}\n`);
    }));

  withConnection(jobs.command('show').description('one job: status, rounds and their contributions, what the current round waits for, sites')
    .argument('<id>', 'the job id', parseJobId))
    .action(action(async (id: string, opts: Connection) => {
      const { client } = await connect(opts);
      const job = await client.job(id);
      process.stdout.write(`${opts.format === 'json' ? JSON.stringify(job) : jobText(job)}\n`);
    }));
}
