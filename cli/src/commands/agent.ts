import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { AGENT_VERSION, loadAgentConfig, NodeAgent } from '@medfed/node-agent';
import { channelCredentials, enrollAgent, loadEnrollConfig } from '@medfed/node-agent/identity/index';
import { applyReanchor, planReanchor, REANCHOR_LOG_FILE, type LogView } from '@medfed/node-agent/verification/index';
import { fileLogger, stderrLogger } from '../logging.js';
import { CliError, reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';

export function register(program: Command): void {
  const agent = program.command('agent').description('run a hospital node agent');
  agent.command('start')
    .description('start the node agent: poll for and run training tasks (enroll first: medfed agent enroll)')
    .option('-c, --config <file>', 'YAML or JSON configuration file')
    .option('--site <id>', 'this site\'s id')
    .option('--coordinator <host:port>', 'the coordinator\'s gRPC address')
    .option('--ca <file>', 'CA certificate (PEM) that signs the coordinator\'s TLS certificate')
    .option('--data <file.csv>', 'local dataset (CSV)')
    .option('--label <column>', 'label column of the dataset')
    .option('--schema <file>', 'dataset schema file (JSON or YAML)')
    .option('--state-dir <dir>', 'private state directory of this agent (holds its key)')
    .option('--log-file <file>', 'write logs to this file instead of stderr')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent')
    .action(async (opts: Record<string, string | undefined>) => {
      let log: Logger | undefined;
      try {
        const config = await loadAgentConfig({
          file: opts.config,
          overrides: {
            siteId: opts.site, 'coordinator.grpc': opts.coordinator, 'coordinator.tls.ca': opts.ca, 'data.csv': opts.data, 'data.label': opts.label,
            'data.schema': opts.schema, stateDir: opts.stateDir, logFile: opts.logFile, logLevel: opts.logLevel,
          },
        });
        const logger = config.logFile
          ? fileLogger(config.logLevel, config.logFile, { component: 'agent', site: config.siteId })
          : stderrLogger(config.logLevel, { component: 'agent', site: config.siteId });
        log = logger;
        const node = new NodeAgent(config, logger);
        const shutdown = async () => {
          await node.stop();
          logger.flush?.();
          setTimeout(() => process.exit(0), 50);
        };
        process.once('SIGINT', () => void shutdown());
        process.once('SIGTERM', () => void shutdown());
        await node.prepare();
        // With a log file, the terminal (or journal) would otherwise stay silent: say once where to look.
        if (config.logFile) process.stderr.write(`medfed agent: site ${config.siteId} running (${config.env}); its log: ${config.logFile}\n`);
        // Returns only when stopped; transient failures are retried inside. It rejects (an
        // AgentStopError: the code, the cause and what to do, in one line) only for what a person must fix.
        await node.run();
      } catch (err) {
        // The agent's own log says why too (its last line); let it reach the file before exiting.
        if (log) await new Promise<void>((done) => log!.flush(() => done()));
        reportAndExit(err);
      }
    });

  agent.command('enroll')
    .description('enroll this agent with a one-time code: generates its key pair here (the private key never leaves this host) and registers the public key')
    .option('--code <code>', 'the one-time enrollment code from an administrator (or MEDFED_ENROLLMENT_CODE)')
    .option('-c, --config <file>', 'the agent\'s YAML or JSON configuration file (as for agent start)')
    .option('--site <id>', 'this site\'s id')
    .option('--coordinator <host:port>', 'the coordinator\'s gRPC address')
    .option('--ca <file>', 'CA certificate (PEM) that signs the coordinator\'s TLS certificate')
    .option('--state-dir <dir>', 'private state directory of this agent: the key is written there with mode 0600')
    .action(async (opts: Record<string, string | undefined>) => {
      try {
        const code = opts.code ?? process.env.MEDFED_ENROLLMENT_CODE;
        if (!code) throw new CliError('USAGE_CODE_MISSING', 'give the enrollment code with --code or MEDFED_ENROLLMENT_CODE', ExitCode.USAGE);
        const config = await loadEnrollConfig({
          file: opts.config,
          overrides: { siteId: opts.site, 'coordinator.grpc': opts.coordinator, 'coordinator.tls.ca': opts.ca, stateDir: opts.stateDir },
        });
        const identity = await enrollAgent({
          coordinator: config.coordinator.grpc, channelCredentials: channelCredentials(config.coordinator.grpc, config.coordinator.tls),
          siteId: config.siteId, code, stateDir: config.stateDir, agentVersion: AGENT_VERSION,
        });
        process.stdout.write(`${JSON.stringify({ event: 'enrolled', site: identity.siteId, keyThumbprint: identity.keyThumbprint, stateDir: config.stateDir })}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });

  agent.command('reanchor-log')
    .description("site steward, agent stopped: re-anchor this agent's saved view of the coordinator's transparency log after its database was restored from an older backup (docs/operations.md, \"Backup and restore\"); shows both checkpoints and changes nothing without --confirm")
    .option('-c, --config <file>', "the agent's configuration file (its stateDir and trust.checkpointKey)")
    .option('--state-dir <dir>', "the agent's state directory (default: the configuration's)")
    .option('--checkpoint <file>', "the coordinator's new signed checkpoint as its operators sent it (default: the one this agent last refused)")
    .option('--confirm <size:root>', "the checkpoint's tree size and base64 root hash, as the coordinator's operators announced them out of band")
    .option('--reason <text>', 'why, for the record', 'coordinator database restored from a backup')
    .option('--by <name>', 'who confirms (default: the logged-in user)')
    .option('--json', 'print JSON lines')
    .action(async (opts: ReanchorOptions) => {
      try {
        await reanchorLog(opts);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });
}

interface ReanchorOptions { config?: string; stateDir?: string; checkpoint?: string; confirm?: string; reason: string; by?: string; json?: boolean }

/** `medfed agent reanchor-log`: never automatic; the steward confirms the exact size and root, and the change is recorded. */
async function reanchorLog(opts: ReanchorOptions): Promise<void> {
  if (!opts.config) throw new CliError('USAGE_CONFIG_MISSING', "give the agent's configuration file with --config (its trust.checkpointKey checks the checkpoint)", ExitCode.USAGE);
  const config = await loadAgentConfig({ file: opts.config, env: {} });
  const stateDir = resolve(opts.stateDir ?? config.stateDir);
  const plan = await planReanchor({ stateDir, checkpointKey: config.trust.checkpointKey, checkpointFile: opts.checkpoint });
  if (!plan) throw new CliError('USAGE_NO_CHECKPOINT', `this agent refused no checkpoint (none in ${stateDir}/verification) and no --checkpoint was given: nothing to re-anchor on`, ExitCode.USAGE);
  const show = (v: LogView | null) => (v ? `size ${v.size}, root ${v.rootHash} (${v.origin})` : 'none');
  const out = (event: string, text: string, extra: Record<string, unknown> = {}): void => void process.stdout.write(opts.json
    ? `${JSON.stringify({ event, site: config.siteId, saved: plan.saved, candidate: plan.candidate, relation: plan.relation, source: plan.source, ...extra })}\n`
    : `${text}\n`);
  if (plan.relation === 'same') return out('log-view-unchanged', `the saved view already is this checkpoint (${show(plan.saved)}): nothing to do`);
  if (!opts.confirm) {
    out('log-reanchor-plan', [
      `saved view of the log:  ${show(plan.saved)}`, `checkpoint offered:     ${show(plan.candidate)}`, `  from ${plan.source}`,
      plan.relation === 'smaller' ? 'it is SMALLER than what this site already verified: the log was rolled back (e.g. restored from an older backup)' : plan.relation === 'larger'
        ? 'it is larger, but this agent refused it unless it is given here: it is not shown to extend the saved view (another history)' : `relation: ${plan.relation}`,
    ].join('\n'));
    throw new CliError('USAGE_CONFIRMATION_REQUIRED', 'nothing changed: check this checkpoint with the coordinator\'s operators (out of band), stop the agent, then rerun with --confirm <size>:<root hash> as they announced it', ExitCode.USAGE);
  }
  const [size, root] = [opts.confirm.slice(0, opts.confirm.indexOf(':')), opts.confirm.slice(opts.confirm.indexOf(':') + 1)];
  if (size !== String(plan.candidate.size) || root !== plan.candidate.rootHash) {
    throw new CliError('REANCHOR_NOT_CONFIRMED', `--confirm ${opts.confirm} is not the offered checkpoint (${plan.candidate.size}:${plan.candidate.rootHash}); nothing changed`, ExitCode.REFUSED);
  }
  const record = await applyReanchor(plan, { by: opts.by ?? userInfo().username, reason: opts.reason });
  out('log-reanchored', `re-anchored: ${show(record.previous)} -> ${show(record.anchor)}; recorded in ${plan.dir}/${REANCHOR_LOG_FILE}; start the agent again`,
    { at: record.at, record: `${plan.dir}/${REANCHOR_LOG_FILE}`, superseded: record.superseded });
}
