import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { stringify } from 'yaml';
import { AGENT_VERSION, loadAgentConfig } from '@medfed/node-agent';
import { channelCredentials, enrollAgent } from '@medfed/node-agent/identity/index';
import { CliError, reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';

/**
 * `medfed agent init`: onboarding of a hospital's agent in one step. Asks (or takes from flags) the
 * site, the coordinator, its CA, the dataset and where to keep state; writes the agent configuration
 * (the file `medfed agent start --config` reads); generates the agent key on this host and enrolls it
 * with the one-time code (the same enrollment as `medfed agent enroll`).
 */
interface InitAnswers {
  site?: string; coordinator?: string; ca?: string; data?: string; label?: string; schema?: string;
  stateDir?: string; logFile?: string; code?: string; out: string; enroll: boolean; interactive: boolean; force?: boolean;
}

/** The questions, in order: flag name, prompt, default, validation (the same rules as the configuration schema). */
const QUESTIONS: ReadonlyArray<{ key: keyof InitAnswers; prompt: string; required: boolean; fallback?: string; check?: (v: string) => string | null }> = [
  { key: 'site', prompt: 'Site id (as registered at the coordinator)', required: true,
    check: (v) => (/^[a-z0-9][a-z0-9-]{0,62}$/.test(v) ? null : 'a-z, 0-9 and -, at most 63 characters') },
  { key: 'coordinator', prompt: 'Coordinator gRPC address (host:port)', required: true,
    check: (v) => (/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/.test(v) ? null : 'host:port, e.g. coordinator.example:9443') },
  { key: 'ca', prompt: 'CA certificate of the coordinator (PEM file; empty for a plaintext coordinator on this host)', required: false },
  { key: 'data', prompt: 'Dataset (CSV file)', required: true },
  { key: 'label', prompt: 'Label column', required: true },
  { key: 'schema', prompt: 'Schema file (empty to infer)', required: false },
  { key: 'stateDir', prompt: 'State directory (holds the agent key)', required: true, fallback: './medfed-agent' },
  { key: 'logFile', prompt: 'Log file (empty for stderr)', required: false },
  { key: 'code', prompt: 'One-time enrollment code from the administrator', required: true },
];

async function ask(answers: InitAnswers): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (const q of QUESTIONS) {
      if (answers[q.key] !== undefined || (q.key === 'code' && !answers.enroll)) continue;
      for (;;) {
        const suffix = q.fallback ? ` [${q.fallback}]` : '';
        const v = (await rl.question(`${q.prompt}${suffix}: `)).trim() || q.fallback || '';
        if (!v && !q.required) break;
        const problem = !v ? 'required' : q.check?.(v) ?? null;
        if (!problem) { (answers as unknown as Record<string, string>)[q.key] = v; break; }
        process.stderr.write(`  ${problem}\n`);
      }
    }
  } finally {
    rl.close();
  }
}

function configOf(a: InitAnswers): Record<string, unknown> {
  return {
    siteId: a.site,
    coordinator: { grpc: a.coordinator, ...(a.ca ? { tls: { ca: resolve(a.ca) } } : {}) },
    data: { csv: resolve(a.data!), label: a.label, ...(a.schema ? { schema: resolve(a.schema) } : {}) },
    stateDir: resolve(a.stateDir ?? './medfed-agent'),
    ...(a.logFile ? { logFile: resolve(a.logFile) } : {}),
  };
}

export async function agentInit(a: InitAnswers): Promise<{ config: string; enrolled: { site: string; keyThumbprint: string } | null }> {
  a.code ??= process.env.MEDFED_ENROLLMENT_CODE;
  if (a.interactive) await ask(a);
  const missing = QUESTIONS.filter((q) => q.required && !q.fallback && a[q.key] === undefined && (q.key !== 'code' || a.enroll)).map((q) => `--${q.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (missing.length) throw new CliError('USAGE_INIT_MISSING', `give ${missing.join(', ')} (or run medfed agent init in a terminal to be asked)`, ExitCode.USAGE);
  for (const q of QUESTIONS) {
    const v = a[q.key];
    const problem = typeof v === 'string' ? q.check?.(v) : null;
    if (problem) throw new CliError('USAGE_INIT_INVALID', `--${q.key}: ${problem}`, ExitCode.USAGE);
  }
  const out = resolve(a.out);
  if (!a.force && await stat(out).then(() => true, () => false)) {
    throw new CliError('USAGE_INIT_EXISTS', `${out} exists; pass --force to replace it or --out for another file`, ExitCode.USAGE);
  }
  const doc = configOf(a);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `# medfed agent configuration, written by medfed agent init\n${stringify(doc)}`, { mode: 0o600 });
  // Read it back through the same loader as `agent start`: a file init writes is always one start accepts.
  const config = await loadAgentConfig({ file: out, env: {} });
  if (!a.enroll) return { config: out, enrolled: null };
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const identity = await enrollAgent({
    coordinator: config.coordinator.grpc, channelCredentials: channelCredentials(config.coordinator.grpc, config.coordinator.tls),
    siteId: config.siteId, code: a.code!, stateDir: config.stateDir, agentVersion: AGENT_VERSION,
  });
  return { config: out, enrolled: { site: identity.siteId, keyThumbprint: identity.keyThumbprint } };
}

export function register(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('run a hospital node agent');
  agent.command('init')
    .description('set up this hospital\'s agent: write its configuration, generate its key here and enroll it (asks for what the flags do not give, in a terminal)')
    .option('--site <id>', 'this site\'s id')
    .option('--coordinator <host:port>', 'the coordinator\'s gRPC address')
    .option('--ca <file>', 'CA certificate (PEM) that signs the coordinator\'s TLS certificate')
    .option('--data <file.csv>', 'local dataset (CSV)')
    .option('--label <column>', 'label column of the dataset')
    .option('--schema <file>', 'dataset schema file (JSON or YAML)')
    .option('--state-dir <dir>', 'private state directory of this agent (the key is written there, mode 0600)')
    .option('--log-file <file>', 'where the agent logs (reported to operators on failures)')
    .option('--code <code>', 'one-time enrollment code (or MEDFED_ENROLLMENT_CODE)')
    .option('-o, --out <file>', 'configuration file to write', 'medfed-agent.yaml')
    .option('--no-enroll', 'only write the configuration')
    .option('--force', 'replace an existing configuration file')
    .option('--non-interactive', 'never ask; fail on a missing value (the default when stdin is not a terminal)')
    .option('--format <format>', 'text or json', (v) => {
      if (v !== 'text' && v !== 'json') throw new InvalidArgumentError('must be text or json');
      return v;
    }, 'text')
    .action(async (opts: InitAnswers & { nonInteractive?: boolean; format: string }) => {
      try {
        const result = await agentInit({ ...opts, interactive: !opts.nonInteractive && process.stdin.isTTY === true });
        process.stdout.write(opts.format === 'json'
          ? `${JSON.stringify({ event: 'initialised', ...result })}\n`
          : `configuration: ${result.config}\n${result.enrolled ? `enrolled: ${result.enrolled.site} (key ${result.enrolled.keyThumbprint})\n` : 'not enrolled (--no-enroll)\n'}next: medfed agent preflight --config ${result.config}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
